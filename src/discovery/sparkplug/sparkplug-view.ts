import type { Will } from "../../mqtt/connection.js";
import { topicMatcher } from "../../mqtt/topic-filter.js";
import type { HostEvent } from "../../sparkplug/host/events.js";
import type { EdgeNode } from "../../sparkplug/host/model.js";
import { edgeTopic } from "../../sparkplug/topic.js";
import { brokerProperties } from "../broker-properties.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../device.js";
import type { DiscoveryInput, StepSink } from "../discoverer.js";
import type { ReportEntry } from "../report.js";
import type { SharedView } from "../shared-reading.js";
import type { SparkplugDiscoveryDetails } from "./details.js";
import { SparkplugInventory } from "./inventory.js";
import { subscriptionsFor } from "./subscriptions.js";

/*
 * One Configuration's view of a Sparkplug host session (sparkplug-host.ts): its own
 * subscriptions, filters, selectors, property mappings and `discover` kind, in its own
 * inventory over the host's shared model, and its own report. It reads no message: the host
 * hands it each step's events, and its engine drains what they caused.
 */

/** What a view needs of its host. */
export interface ViewHost {
  readonly nodes: ReadonlyMap<string, EdgeNode>;
  readonly will: Will | undefined;
  /** The STATE host id it publishes, if it does (its own STATE topic is subscribed). */
  readonly stateHostId: string | undefined;
}

export class SparkplugView implements SharedView {
  readonly subscriptions: readonly string[];
  readonly will: Will | undefined;
  private readonly inventory: SparkplugInventory;
  /** Whether this view's subscriptions bring a topic (undefined: they bring all of Sparkplug). */
  private readonly hears: ((topic: string) => boolean) | undefined;
  /** Report entries since the last step of this view's engine. */
  private report: ReportEntry[] = [];

  /** `birthsFrom`: births received before it lack values this view reads (see SparkplugHost.join). */
  constructor(details: SparkplugDiscoveryDetails, host: ViewHost, birthsFrom?: number) {
    this.inventory = new SparkplugInventory({
      ...(birthsFrom === undefined ? {} : { birthsFrom }),
      brokers: details.brokers.map((b) => b.uri),
      brokerProperties: brokerProperties(details.brokers),
      sparkplug: details.sparkplug,
      offlineGraceSeconds: details.offlineGraceSeconds,
      nodes: host.nodes,
    });
    this.subscriptions = subscriptionsFor(details.sparkplug, host.stateHostId);
    this.will = host.will;
    // A view of the whole namespace hears all; one of some groups, only their topics.
    if (!this.subscriptions.includes("spBv1.0/#")) {
      const matchers = this.subscriptions.map(topicMatcher);
      this.hears = (topic) => matchers.some((matches) => matches(topic));
    }
  }

  /** A host step's events, and their report entries (made once for every view). */
  absorb(events: readonly HostEvent[], entries: readonly ReportEntry[], now: number): void {
    if (this.hears === undefined) {
      for (const entry of entries) this.report.push(entry);
      this.inventory.apply(events, now);
      return;
    }
    // Only what this Configuration subscribes to: another's groups are none of its business.
    const heard = events.filter((event, i) => {
      const hears = this.hearsEvent(event);
      if (hears) this.report.push(entries[i]!);
      return hears;
    });
    if (heard.length > 0) this.inventory.apply(heard, now);
  }

  private hearsEvent(event: HostEvent): boolean {
    if ("group" in event && "edge" in event) return this.hears!(edgeTopic("NBIRTH", event.group, event.edge));
    if ("topic" in event) return this.hears!(event.topic);
    return true;
  }

  /** Lists what the host already knows (a view that joins a running host). */
  catchUp(now: number): void {
    this.inventory.refreshAll(now);
  }

  note(entry: ReportEntry): void {
    this.report.push(entry);
  }

  /** Whatever the input, hands over what the host's steps caused since the last one, and expires grace. */
  step(_input: DiscoveryInput, now: number, out: StepSink): void {
    if (this.report.length > 0) {
      for (const entry of this.report) out.report.push(entry);
      this.report = [];
    }
    this.inventory.expire(now);
    for (const device of this.inventory.drainListed()) out.listed.push(device);
  }

  nextDeadline(): number | undefined {
    return this.inventory.nextDeadline();
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
    const all = this.inventory.unlisted();
    const hears = this.hears;
    if (hears === undefined) return all;
    return all.filter((entity) => {
      const [, group, edge] = entity.id.split("/");
      return group !== undefined && edge !== undefined && hears(edgeTopic("NBIRTH", group, edge));
    });
  }
}
