import type { MqttMessage } from "../../src/mqtt/message.js";
import type { EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";
import type { HostCommand, HostEvent } from "../../src/sparkplug/host/events.js";
import { HostSession, type HostStep } from "../../src/sparkplug/host/host-session.js";
import type { EntityStatus } from "../../src/sparkplug/host/model.js";
import { type HostOptions, hostOptions, type RebirthOptions } from "../../src/sparkplug/host/options.js";
import { seededRandom } from "../fixtures/build-quirks.js";

type Overrides = Partial<Omit<HostOptions, "rebirth">> & { rebirth?: Partial<RebirthOptions> };

/**
 * Drives a HostSession on virtual time: every input is applied at `now`, and timers fire
 * exactly when due as time advances. Collects every event and command.
 */
export class HostHarness {
  readonly session: HostSession;
  now: number;
  readonly events: HostEvent[] = [];
  readonly commands: HostCommand[] = [];

  constructor(overrides: Overrides = {}, start = Date.UTC(2026, 0, 5, 10), seed = 7) {
    const options = hostOptions({
      hostId: "test-host",
      ...overrides,
      rebirth: { jitterMs: 0, ...overrides.rebirth },
    });
    this.session = new HostSession(options, seededRandom(seed));
    this.now = start;
  }

  private record(step: HostStep): HostStep {
    this.events.push(...step.events);
    this.commands.push(...step.commands);
    return step;
  }

  /** Moves time to `until`, firing every timer due on the way. */
  advanceTo(until: number): HostStep[] {
    const steps: HostStep[] = [];
    for (let i = 0; i < 100_000; i++) {
      const deadline = this.session.nextDeadline();
      if (deadline === undefined || deadline > until) break;
      this.now = Math.max(this.now, deadline);
      steps.push(this.record(this.session.step({ kind: "tick" }, this.now)));
    }
    this.now = Math.max(this.now, until);
    return steps;
  }

  advance(ms: number): HostStep[] {
    return this.advanceTo(this.now + ms);
  }

  /** Delivers a message `after` ms from now (timers due before it fire first). */
  deliver(message: Omit<MqttMessage, "at"> & { at?: number }, after = 10): HostStep {
    this.advanceTo(message.at ?? this.now + after);
    return this.record(
      this.session.step({ kind: "message", message: { ...message, at: this.now } }, this.now),
    );
  }

  /** Delivers an edge publish built by EdgeNodeEncoder. */
  publish(publish: EdgePublish, options: { after?: number; retain?: boolean } = {}): HostStep {
    return this.deliver({ ...publish, retain: options.retain ?? false }, options.after ?? 10);
  }

  input(input: Parameters<HostSession["step"]>[0]): HostStep {
    return this.record(this.session.step(input, this.now));
  }

  nodeStatus(group: string, edge: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.status;
  }

  deviceStatus(group: string, edge: string, device: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.devices.get(device)?.status;
  }

  eventsOf<K extends HostEvent["kind"]>(kind: K): Extract<HostEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<HostEvent, { kind: K }> => e.kind === kind);
  }

  rebirthCommands(): HostCommand[] {
    return this.commands.filter((c) => c.purpose === "rebirth");
  }

  clear(): void {
    this.events.length = 0;
    this.commands.length = 0;
  }
}
