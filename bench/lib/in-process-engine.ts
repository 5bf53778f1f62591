import type { DiscoveryEngine, EngineOutput } from "../../src/discovery/engine.js";
import { engineFor, parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";

/**
 * The discovery engine fed in this process on its own clock: each message, then the
 * next-deadline query the pipeline makes after every input.
 */
export class InProcessEngine {
  readonly engine: DiscoveryEngine;
  now = 0;

  constructor(detailsYaml: string, brokers: readonly string[] = ["b"]) {
    const parsed = parseDiscoveryDetails(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.engine = engineFor(parsed.details, { suffix: "bench" });
    this.engine.start(this.now);
    for (const broker of brokers)
      this.engine.step({ kind: "online", broker, willTimestamp: this.now }, this.now);
  }

  message(topic: string, payload: Uint8Array, broker = "b"): EngineOutput {
    const message = { topic, payload, qos: 0 as const, retain: false, at: this.now, broker };
    const out = this.engine.step({ kind: "message", message }, this.now);
    this.engine.nextDeadline();
    return out;
  }
}

/** CPU µs per message of `run`, which handles `messages` messages. */
export function cpuPerMessage(messages: number, run: () => void): number {
  const cpu = process.cpuUsage();
  run();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / messages;
}
