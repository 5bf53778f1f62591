import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../device.js";
import type { Discoverer, DiscoveryInput, StepSink } from "../discoverer.js";
import { GenericPresence, type PresenceOptions } from "./presence.js";
import { reportPresenceEvent } from "./report.js";

/*
 * Generic discovery: a device per topic (or per id a template extracts) while it publishes.
 * Its mode (generic/mode.ts) says how, and so does the reference handler's (reference/mode.ts).
 */
export class GenericDiscoverer implements Discoverer {
  private readonly presence: GenericPresence;
  readonly subscriptions: readonly string[];
  readonly will = undefined;

  /** The only broker, when there is one: whatever a source calls it, it is that one. */
  private readonly single: string | undefined;

  constructor(options: PresenceOptions) {
    this.single = options.brokers.length === 1 ? options.brokers[0]! : undefined;
    this.subscriptions = [...options.topics];
    this.presence = new GenericPresence(options);
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
