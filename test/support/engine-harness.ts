import { parseDiscoveryDetails } from "../../src/discovery/details.js";
import type { DeviceListEmission, DiscoveryEngine, EngineInput } from "../../src/discovery/engine.js";
import type { EmitterTiming } from "../../src/discovery/list-emitter.js";
import { engineFor } from "../../src/discovery/modes/discoverer-for.js";
import type { MqttMessage } from "../../src/mqtt/message.js";
import type { EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";
import { seededRandom } from "../../src/streams/seeded-random.js";

/** A DiscoveryEngine on virtual time: inputs at `now`, timers fired exactly when due. */
export class EngineHarness {
  readonly engine: DiscoveryEngine;
  readonly lists: DeviceListEmission[] = [];
  now: number;

  constructor(detailsYaml: string, options: { start?: number; timing?: EmitterTiming } = {}) {
    const parsed = parseDiscoveryDetails(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.now = options.start ?? Date.UTC(2026, 0, 5, 10);
    this.engine = engineFor(parsed.details, {
      hostId: "test",
      random: seededRandom(3),
      timing: options.timing,
    });
    this.engine.start(this.now);
  }

  private apply(input: EngineInput): void {
    this.lists.push(...this.engine.step(input, this.now).emissions);
  }

  advanceTo(until: number): void {
    for (let i = 0; i < 1_000_000; i++) {
      const deadline = this.engine.nextDeadline();
      if (deadline === undefined || deadline > until) break;
      this.now = Math.max(this.now, deadline);
      this.apply({ kind: "tick" });
    }
    this.now = Math.max(this.now, until);
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  input(input: EngineInput, after = 0): void {
    this.advance(after);
    this.apply(input);
  }

  deliver(message: Omit<MqttMessage, "at">, after = 10): void {
    this.input({ kind: "message", message: { ...message, at: this.now + after } }, after);
  }

  publish(publish: EdgePublish, after = 10, retain = false): void {
    this.deliver({ ...publish, retain }, after);
  }

  /** Ids of the last list sent. */
  ids(): string[] {
    return this.lists.at(-1)?.devices.map((d) => d.id) ?? [];
  }

  /** Lets pending lists go out. */
  settle(): void {
    this.advance(5000);
  }
}
