import {
  asyncScheduler,
  defer,
  filter,
  finalize,
  map,
  merge,
  type Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
  tap,
} from "rxjs";
import type { DiscoveryCommand } from "../discovery/discoverer.js";
import type { DiscoveryEngine, EngineInput, EngineOutput } from "../discovery/engine.js";
import type { ConnectionStatus } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";

/*
 * The discovery pipeline (design.md §2): messages and connection changes from a source,
 * plus ticks at the engine's own deadlines, through the DiscoveryEngine reducer; host
 * commands back to the source; device lists out. The scheduler is the clock: the async
 * scheduler live, a VirtualTimeScheduler for replay, so both run the very same pipeline.
 */

export interface DiscoverySource {
  messages$: Observable<MqttMessage>;
  status$: Observable<ConnectionStatus>;
  /** Where host commands go (rebirth NCMDs, STATE); absent for replay. */
  publish?: (command: DiscoveryCommand) => void;
}

/** Ticks at the engine's next deadline: one timer at a time, moved only when the deadline moves. */
export function deadlineTicks(scheduler: SchedulerLike): {
  ticks$: Observable<EngineInput>;
  setDeadline(at: number | undefined): void;
  stop(): void;
} {
  const ticks$ = new Subject<EngineInput>();
  let scheduledAt: number | undefined;
  let timer: Subscription | undefined;
  return {
    ticks$,
    setDeadline(at) {
      if (at === scheduledAt) return;
      timer?.unsubscribe();
      scheduledAt = at;
      if (at === undefined) return;
      timer = scheduler.schedule(
        () => {
          scheduledAt = undefined;
          ticks$.next({ kind: "tick" });
        },
        Math.max(0, at - scheduler.now()),
      );
    },
    stop() {
      timer?.unsubscribe();
      ticks$.complete();
    },
  };
}

function statusInput(status: ConnectionStatus): EngineInput | undefined {
  if (status.kind === "online")
    return { kind: "online", broker: status.broker, willTimestamp: status.willTimestamp };
  if (status.kind === "offline") return { kind: "offline", broker: status.broker ?? "" };
  return undefined;
}

/** Runs a discovery: every engine output (lists, commands, events) as it happens. */
export function runDiscovery(
  engine: DiscoveryEngine,
  source: DiscoverySource,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<EngineOutput> {
  return defer(() => {
    engine.start(scheduler.now());
    const clock = deadlineTicks(scheduler);
    const inputs$ = merge(
      source.status$.pipe(
        map(statusInput),
        filter((input): input is EngineInput => input !== undefined),
      ),
      source.messages$.pipe(map((message): EngineInput => ({ kind: "message", message }))),
      clock.ticks$,
    );
    clock.setDeadline(engine.nextDeadline());
    return inputs$.pipe(
      map((input) => engine.step(input, scheduler.now())),
      tap((output) => {
        clock.setDeadline(engine.nextDeadline());
        if (source.publish) for (const command of output.commands) source.publish(command);
      }),
      finalize(() => clock.stop()),
    );
  });
}
