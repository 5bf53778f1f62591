import type { DiscoveryInput } from "../../src/discovery/discoverer.js";
import { DiscoveryEngine } from "../../src/discovery/engine.js";
import { type DiscoveryDetails, parseDiscoveryDetails, sharingFor } from "../../src/discovery/modes/modes.js";
import { SharedReading } from "../../src/discovery/shared-reading.js";

/** The wake a view's engine gets from its reading (streams/discovery-pipeline.ts: a tick that is not the timer's). */
const WAKE: DiscoveryInput = { kind: "tick" };

/**
 * Several Configurations sharing one reading, fed in this process on its own clock as
 * `serve` runs them (streams/shared-readings.ts): each message steps the reading, then the
 * next-deadline query its driver makes; a step that gave the views something wakes every
 * view's engine, which is then asked its own next deadline.
 */
export class InProcessSharedHost {
  readonly reading: SharedReading<DiscoveryDetails>;
  readonly engines: DiscoveryEngine[] = [];
  now = 0;

  constructor(detailsYamls: readonly string[], brokers: readonly string[] = ["b"]) {
    const all = detailsYamls.map((yaml) => {
      const parsed = parseDiscoveryDetails(yaml);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.details;
    });
    const first = all[0]!;
    const sharing = sharingFor(first);
    if (sharing === undefined) throw new Error(`mode ${first.mode} shares nothing`);
    this.reading = new SharedReading(sharing.reader(first, { suffix: "bench" }), first.maxPayloadBytes);
    for (const details of all) {
      const engine = new DiscoveryEngine(this.reading.join(details, this.now, []), {
        maxPayloadBytes: details.maxPayloadBytes,
      });
      engine.start(this.now);
      this.engines.push(engine);
    }
    for (const broker of brokers) this.input({ kind: "online", broker, willTimestamp: this.now });
  }

  private input(input: DiscoveryInput): void {
    const step = this.reading.step(input, this.now);
    this.reading.nextDeadline();
    if (input.kind === "online") for (const engine of this.engines) engine.step(input, this.now);
    if (!step.woke) return;
    for (const engine of this.engines) {
      engine.step(WAKE, this.now);
      engine.nextDeadline();
    }
  }

  message(topic: string, payload: Uint8Array, broker = "b"): void {
    this.input({ kind: "message", message: { topic, payload, qos: 0, retain: false, at: this.now, broker } });
  }
}
