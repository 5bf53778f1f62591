import { EMPTY, Subject } from "rxjs";
import type { DiscoveryEngine, EngineOutput } from "../discovery/engine.js";
import type { EmitterTiming } from "../discovery/list-emitter.js";
import { type DiscoveryDetails, engineFor } from "../discovery/modes/modes.js";
import type { MqttMessage } from "../mqtt/message.js";
import { runDiscovery } from "./discovery-pipeline.js";
import { readFixtureChunks } from "./fixture-file.js";
import { seededRandom } from "./seeded-random.js";
import { VirtualClock } from "./timed-reducer.js";

/*
 * Replay: a fixture through the discovery pipeline on virtual time. The clock jumps from
 * message to message (timers due in between fire first, in order), so a one-hour
 * recording runs in seconds and the same file always gives the same lists.
 */

export interface ReplayOptions {
  timing?: EmitterTiming;
  /** After the last message, let timers run this long (pending lists, reorder and settle timers). */
  drainMs?: number;
  /** Fixture lines that cannot be read. */
  onFixtureError?: (error: string) => void;
}

/** Replays a fixture, calling `onOutput` with every engine output in order. */
export async function replayFixture(
  path: string,
  details: DiscoveryDetails,
  onOutput: (output: EngineOutput) => void,
  options: ReplayOptions = {},
): Promise<{ messages: number; engine: DiscoveryEngine }> {
  const clock = new VirtualClock();
  const messages$ = new Subject<MqttMessage>();
  const engine = engineFor(details, {
    suffix: "replay",
    publishState: false,
    random: seededRandom(1),
    timing: options.timing,
  });
  let subscribed = false;
  let count = 0;
  let lastAt = 0;
  const start = (at: number) => {
    clock.advanceTo(at);
    runDiscovery(engine, { messages$, status$: EMPTY }, clock.scheduler).subscribe(onOutput);
    subscribed = true;
  };
  for await (const entries of readFixtureChunks(path)) {
    for (const entry of entries) {
      if (entry.kind === "error") {
        options.onFixtureError?.(entry.error);
        continue;
      }
      const message = entry.message;
      if (!subscribed) start(message.at);
      // Time never runs backwards, even in a hand-edited fixture.
      const at = Math.max(message.at, clock.now);
      clock.advanceTo(at);
      messages$.next(at === message.at ? message : { ...message, at });
      lastAt = at;
      count++;
    }
  }
  if (subscribed) clock.advanceTo(lastAt + (options.drainMs ?? 10_000));
  messages$.complete();
  return { messages: count, engine };
}
