import {
  asyncScheduler,
  BehaviorSubject,
  defer,
  distinctUntilChanged,
  EMPTY,
  finalize,
  map,
  merge,
  type Observable,
  type SchedulerLike,
  switchMap,
  timer,
  VirtualTimeScheduler,
} from "rxjs";

/*
 * Every reducer here (the discovery engine, the Sparkplug host session) is driven the same
 * way: each input is applied at the scheduler's now, and a tick at the reducer's own next
 * deadline. The scheduler is the clock: the async scheduler live, a VirtualClock for replay,
 * inspect and tests, so all of them run the very same path.
 */

/** A reducer over inputs and time. */
export interface TimedReducer<I, O> {
  step(input: I, now: number): O;
  /** The earliest time a tick has something to do, if any. */
  nextDeadline(): number | undefined;
}

/**
 * Runs a reducer: every input, and `tick` at each of its deadlines (one timer, moved only
 * when the deadline moves); every output as it happens.
 */
export function runReducer<I, O>(
  reducer: TimedReducer<I, O>,
  inputs$: Observable<I>,
  tick: I,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<O> {
  return defer(() => {
    let armed = reducer.nextDeadline();
    const deadlines$ = new BehaviorSubject<number | undefined>(armed);
    const ticks$ = deadlines$.pipe(
      distinctUntilChanged(),
      switchMap((at) =>
        at === undefined ? EMPTY : timer(Math.max(0, at - scheduler.now()), scheduler).pipe(map(() => tick)),
      ),
    );
    // One operator per input (this runs for every message): step, then re-arm the timer.
    return merge(inputs$, ticks$).pipe(
      map((input) => {
        const output = reducer.step(input, scheduler.now());
        // A timer that fired is spent: the next deadline arms a new one even if it is the same.
        if (input === tick) {
          armed = undefined;
          deadlines$.next(undefined);
        }
        // Most inputs leave the deadline where it was: then the timer is not even told.
        const next = reducer.nextDeadline();
        if (next !== armed) {
          armed = next;
          deadlines$.next(next);
        }
        return output;
      }),
      finalize(() => deadlines$.complete()),
    );
  });
}

/** Virtual time for a reducer run with runReducer: time moves only when told to. */
export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler();

  constructor(start = 0) {
    this.scheduler.frame = start;
  }

  get now(): number {
    return this.scheduler.frame;
  }

  /** Moves the clock to `at`, firing every timer due on the way, in order (never backwards). */
  advanceTo(at: number): void {
    this.scheduler.maxFrames = at;
    this.scheduler.flush();
    if (this.scheduler.frame < at) this.scheduler.frame = at;
  }
}
