import {
  asyncScheduler,
  defer,
  EMPTY,
  filter,
  map,
  merge,
  type Observable,
  type SchedulerLike,
  tap,
} from "rxjs";
import type { DiscoveryCommand, DiscoveryInput } from "../discovery/discoverer.js";
import type { DiscoveryEngine, EngineInput, EngineOutput } from "../discovery/engine.js";
import type { ConnectionStatus } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import { runReducer } from "./timed-reducer.js";

/*
 * The discovery pipeline (design.md §2): messages and connection changes from a source,
 * plus ticks at the engine's own deadlines, through the DiscoveryEngine reducer; commands
 * back to the source; device lists and the report out. The scheduler is the clock: the
 * async scheduler live, a VirtualClock's for replay, so both run the very same pipeline.
 */

export interface DiscoverySource {
  messages$: Observable<MqttMessage>;
  status$: Observable<ConnectionStatus>;
  /** Where commands go (rebirth NCMDs, STATE); absent for replay. */
  publish?: (command: DiscoveryCommand) => void;
  /** How long each list took its consumer to deliver, ms (live only). */
  delivered$?: Observable<number>;
  /** A shared reading stepped something for this discovery's view (see streams/shared-readings.ts). */
  wake$?: Observable<void>;
}

const TICK: EngineInput = { kind: "tick" };
/** A tick that is not the timer's (the timer stays armed): the view hands over what its reading gave it. */
const WAKE: EngineInput = { kind: "tick" };

/** A connection status as a discovery input (connecting is none). */
export function statusInput(status: ConnectionStatus): DiscoveryInput | undefined {
  if (status.kind === "online")
    return { kind: "online", broker: status.broker, willTimestamp: status.willTimestamp };
  if (status.kind === "offline") return { kind: "offline", broker: status.broker };
  return undefined;
}

/** Runs a discovery: every engine output (lists, commands, report) as it happens. */
export function runDiscovery(
  engine: DiscoveryEngine,
  source: DiscoverySource,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<EngineOutput> {
  return defer(() => {
    engine.start(scheduler.now());
    const inputs$ = merge(
      source.status$.pipe(
        map(statusInput),
        filter((input): input is DiscoveryInput => input !== undefined),
      ),
      source.messages$.pipe(map((message): EngineInput => ({ kind: "message", message }))),
      source.delivered$?.pipe(map((ms): EngineInput => ({ kind: "delivered", ms }))) ?? EMPTY,
      source.wake$?.pipe(map(() => WAKE)) ?? EMPTY,
    );
    const outputs$ = runReducer(engine, inputs$, TICK, scheduler);
    const { publish } = source;
    if (!publish) return outputs$;
    return outputs$.pipe(
      tap((output) => {
        for (const command of output.commands) publish(command);
      }),
    );
  });
}
