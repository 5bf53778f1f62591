import { Subject } from "rxjs";
import type { ModeDetails } from "../../src/discovery/details.js";
import type { DeviceListEmission, DiscoveryEngine, EngineInput } from "../../src/discovery/engine.js";
import type { EmitterTiming } from "../../src/discovery/list-emitter.js";
import type { ModeSet } from "../../src/discovery/mode-set.js";
import { modes as discoveryModes } from "../../src/discovery/modes/modes.js";
import type { MqttMessage } from "../../src/mqtt/message.js";
import type { EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";
import { seededRandom } from "../../src/streams/seeded-random.js";
import { runReducer, VirtualClock } from "../../src/streams/timed-reducer.js";

/** A DiscoveryEngine on virtual time: inputs at `now`, timers fired exactly when due. */
export class EngineHarness {
  readonly engine: DiscoveryEngine;
  readonly lists: DeviceListEmission[] = [];
  private readonly clock: VirtualClock;
  private readonly inputs$ = new Subject<EngineInput>();

  /** `modes`: the modes it knows (default: the commands'). */
  constructor(
    detailsYaml: string,
    options: { start?: number; timing?: EmitterTiming; modes?: ModeSet<ModeDetails> } = {},
  ) {
    const modes = options.modes ?? discoveryModes;
    const parsed = modes.parse(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.clock = new VirtualClock(options.start ?? Date.UTC(2026, 0, 5, 10));
    this.engine = modes.engineFor(parsed.details, {
      suffix: "test",
      random: seededRandom(3),
      timing: options.timing,
    });
    this.engine.start(this.now);
    runReducer(this.engine, this.inputs$, { kind: "tick" } as EngineInput, this.clock.scheduler).subscribe(
      (output) => this.lists.push(...output.emissions),
    );
  }

  get now(): number {
    return this.clock.now;
  }

  advanceTo(until: number): void {
    this.clock.advanceTo(Math.max(this.now, until));
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  input(input: EngineInput, after = 0): void {
    this.advance(after);
    this.inputs$.next(input);
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
