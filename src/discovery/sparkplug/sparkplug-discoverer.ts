import type { Will } from "../../mqtt/connection.js";
import { type HostInput, HostSession } from "../../sparkplug/host/host-session.js";
import { stateWill } from "../../sparkplug/host/host-state.js";
import { type HostOptions, hostOptions } from "../../sparkplug/host/options.js";
import { earlier } from "../../time/deadline.js";
import { brokerProperties } from "../broker-properties.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../device.js";
import type { Discoverer, DiscoveryInput, StepSink } from "../discoverer.js";
import type { SparkplugDiscoveryDetails } from "./details.js";
import { SparkplugInventory } from "./inventory.js";
import { reportHostEvent } from "./report.js";
import { subscriptionsFor } from "./subscriptions.js";

/*
 * Sparkplug B discovery: a Sparkplug 3.0 host session over the namespace, and the inventory
 * that turns its born edge nodes and devices into Akri devices. The host's rebirth requests
 * and STATE are the commands; its events are the report.
 */

export interface SparkplugDiscovererOptions {
  /** This host's STATE host id (sparkplug.hostId plus this process's suffix). */
  hostId: string;
  /** Publish STATE (default: as the details say). */
  publishState?: boolean;
  random?: () => number;
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: Partial<Pick<HostOptions, "deviceRebirthSettleMs" | "staleTimeoutMs" | "unprovenGraceMs">>;
}

/** The host's STATE death as a Will, with each CONNECT's moment as its timestamp. */
function stateDeathWill(hostId: string): Will {
  const { topic, qos, retain } = stateWill(hostId, 0);
  return { topic, qos, retain, payload: (connectedAt) => stateWill(hostId, connectedAt).payload };
}

export class SparkplugDiscoverer implements Discoverer {
  readonly session: HostSession;
  private readonly inventory: SparkplugInventory;
  readonly subscriptions: readonly string[];
  readonly will: Will | undefined;

  constructor(details: SparkplugDiscoveryDetails, options: SparkplugDiscovererOptions) {
    const sp = details.sparkplug;
    const publishState = options.publishState ?? sp.publishState;
    this.session = new HostSession(
      hostOptions("discovery", {
        hostId: options.hostId,
        publishState,
        rebirth: sp.rebirth,
        // Only the birth values that property mappings and selectors read are kept.
        birthValues: new Set([...sp.birthMetrics.map((s) => s.name), ...Object.values(sp.properties)]),
        ...options.host,
      }),
      options.random,
    );
    this.inventory = new SparkplugInventory({
      brokers: details.brokers.map((b) => b.uri),
      brokerProperties: brokerProperties(details.brokers),
      sparkplug: sp,
      offlineGraceSeconds: details.offlineGraceSeconds,
      nodes: this.session.nodes,
    });
    this.subscriptions = subscriptionsFor(sp, publishState ? options.hostId : undefined);
    this.will = publishState ? stateDeathWill(options.hostId) : undefined;
  }

  step(input: DiscoveryInput, now: number, out: StepSink): void {
    // The session ticks at its own deadlines (below), not at every tick of the engine.
    if (input.kind !== "tick") this.hostStep(input, now, out);
    const deadline = this.session.nextDeadline();
    if (deadline !== undefined && deadline <= now) this.hostStep({ kind: "tick" }, now, out);
    this.inventory.expire(now);
    for (const device of this.inventory.drainListed()) out.listed.push(device);
  }

  private hostStep(input: HostInput, now: number, out: StepSink): void {
    const step = this.session.step(input, now);
    for (const command of step.commands) out.commands.push(command);
    for (const event of step.events) out.report.push(reportHostEvent(event));
    this.inventory.apply(step.events, now);
  }

  nextDeadline(): number | undefined {
    return earlier(this.session.nextDeadline(), this.inventory.nextDeadline());
  }

  get version(): number {
    return this.inventory.version;
  }

  list(): DiscoveredDevice[] {
    return this.inventory.list();
  }

  statusOf(id: string): DeviceStatus | undefined {
    return this.inventory.statusOf(id);
  }

  brokerOf(id: string): string | undefined {
    return this.inventory.brokerOf(id);
  }

  factsOf(id: string): Record<string, string | number> | undefined {
    return this.inventory.factsOf(id);
  }

  unlisted(): UnlistedEntity[] {
    return this.inventory.unlisted();
  }
}
