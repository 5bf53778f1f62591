import type { Will } from "../../mqtt/connection.js";
import type { HostSession } from "../../sparkplug/host/host-session.js";
import { earlier } from "../../time/deadline.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../device.js";
import type { Discoverer, DiscoveryInput, StepSink } from "../discoverer.js";
import type { SparkplugDiscoveryDetails } from "./details.js";
import { SparkplugHost, type SparkplugHostOptions } from "./sparkplug-host.js";
import type { SparkplugView } from "./sparkplug-view.js";

/*
 * Sparkplug B discovery on its own: a host of its own (sparkplug-host.ts) with one view, both
 * stepped by this discovery's engine. Replay, `discover`, `inspect` and the tests run it so;
 * `serve` shares one host between the Configurations that name it (streams/shared-readings.ts).
 */

export type SparkplugDiscovererOptions = SparkplugHostOptions;

export class SparkplugDiscoverer implements Discoverer {
  private readonly host: SparkplugHost;
  private readonly view: SparkplugView;

  constructor(details: SparkplugDiscoveryDetails, options: SparkplugDiscovererOptions) {
    this.host = new SparkplugHost(details, options);
    // A new host knows nothing yet: joining it needs no time and asks no node for anything.
    this.view = this.host.join(details, 0, []);
  }

  get session(): HostSession {
    return this.host.session;
  }

  get subscriptions(): readonly string[] {
    return this.view.subscriptions;
  }

  get will(): Will | undefined {
    return this.host.will;
  }

  step(input: DiscoveryInput, now: number, out: StepSink): void {
    // The session ticks at its own deadlines (below), not at every tick of the engine.
    if (input.kind !== "tick") this.host.step(input, now, out.commands);
    const deadline = this.host.nextDeadline();
    if (deadline !== undefined && deadline <= now) this.host.step({ kind: "tick" }, now, out.commands);
    this.view.step(input, now, out);
  }

  nextDeadline(): number | undefined {
    return earlier(this.host.nextDeadline(), this.view.nextDeadline());
  }

  get version(): number {
    return this.view.version;
  }

  list(): DiscoveredDevice[] {
    return this.view.list();
  }

  statusOf(id: string): DeviceStatus | undefined {
    return this.view.statusOf(id);
  }

  brokerOf(id: string): string | undefined {
    return this.view.brokerOf(id);
  }

  factsOf(id: string): Record<string, string | number> | undefined {
    return this.view.factsOf(id);
  }

  unlisted(): UnlistedEntity[] {
    return this.view.unlisted();
  }
}
