import { brokerProperties } from "../broker-properties.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../device.js";
import type { Discoverer, DiscoveryInput, StepSink } from "../discoverer.js";
import type { GenericDiscoveryDetails } from "./details.js";
import { GenericPresence } from "./presence.js";
import { reportPresenceEvent } from "./report.js";

/* Generic discovery: a device per topic (or per id a template extracts) while it publishes. */
export class GenericDiscoverer implements Discoverer {
  private readonly presence: GenericPresence;
  readonly subscriptions: readonly string[];
  readonly will = undefined;

  /** The only broker, when there is one: whatever a source calls it, it is that one. */
  private readonly single: string | undefined;

  constructor(details: GenericDiscoveryDetails) {
    this.single = details.brokers.length === 1 ? details.brokers[0]!.uri : undefined;
    this.subscriptions = [...details.topics];
    this.presence = new GenericPresence({
      topics: details.topics,
      deviceId: details.deviceId,
      idleTimeoutSeconds: details.idleTimeoutSeconds,
      offlineGraceSeconds: details.offlineGraceSeconds,
      brokers: details.brokers.map((b) => b.uri),
      brokerProperties: brokerProperties(details.brokers),
    });
  }

  step(input: DiscoveryInput, now: number, out: StepSink): void {
    switch (input.kind) {
      case "message": {
        const event = this.presence.onMessage(input.message, now);
        if (event) out.report.push(reportPresenceEvent(event));
        break;
      }
      case "online":
        this.presence.onOnline(this.single ?? input.broker, now);
        break;
      case "offline":
        this.presence.onOffline(this.single ?? input.broker, now);
        break;
    }
    for (const event of this.presence.expire(now)) out.report.push(reportPresenceEvent(event));
    for (const device of this.presence.drainListed()) out.listed.push(device);
  }

  nextDeadline(): number | undefined {
    return this.presence.nextDeadline();
  }

  get version(): number {
    return this.presence.version;
  }

  list(): DiscoveredDevice[] {
    return this.presence.list();
  }

  statusOf(id: string): DeviceStatus | undefined {
    return this.presence.statusOf(id);
  }

  brokerOf(id: string): string | undefined {
    return this.presence.brokerOf(id);
  }

  factsOf(id: string): Record<string, string | number> | undefined {
    return this.presence.factsOf(id);
  }

  unlisted(): UnlistedEntity[] {
    return this.presence.unlisted();
  }
}
