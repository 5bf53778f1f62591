/*
 * When to send a device list (the agent re-applies every Instance per message, so lists
 * must be few): the first one promptly once the start-up burst has settled, then only
 * when what Akri sees changed, coalesced: a list goes out once changes have been quiet
 * for `quietMs`, or, while they keep coming, `maxDelayMs` after the last list (and not
 * before `quietMs` after the first unsent change), so a burst of a thousand births is a
 * handful of lists and a steady trickle still gets through.
 *
 * The window counts from the last list, not from the first change after it: a change
 * that arrived while that list was being built and written (or was on its way through the
 * broker then) does not wait a window more for it. So no change waits more than
 * `maxDelayMs`, and under a steady stream lists go out exactly `maxDelayMs` apart. After
 * a quiet spell the first change waits only `quietMs`, whatever follows it.
 *
 * The window counts from when the last list was due, not from the step that made it: the
 * timer that makes a list fires late when the event loop is busy (a large list being
 * encoded, a burst of messages, a GC pause), and counting from the late step would add that
 * lateness to every change of the next window, and again to the one after. (Lateness is
 * absorbed up to a tenth of the window: a process stalled for longer does not send lists
 * back to back to catch up.)
 *
 * `maxDelayMs` is how long a change may wait until the consumer has the list, and a large
 * list takes a while to write (2.5 MB, 10,000 devices, take 10-30 ms to reach the agent
 * through HTTP/2's flow control). So the consumer says how long its last list took
 * (`delivered`) and the window closes earlier by the longest of the last few deliveries (one
 * slow write, a GC pause, is likely to come again soon), by at most a tenth of it.
 */

export interface EmitterTiming {
  /** Wait this long after start before the first list (unless changes keep coming). */
  settleMs: number;
  /** The first list goes out at the latest this long after start. */
  firstMaxWaitMs: number;
  /** A change waits for this much quiet... */
  quietMs: number;
  /** ...but no longer than this (after the last list, or the first unsent change). */
  maxDelayMs: number;
}

export const defaultEmitterTiming: EmitterTiming = {
  settleMs: 500,
  firstMaxWaitMs: 3000,
  quietMs: 250,
  maxDelayMs: 1000,
};

/** How many recent delivery times the lead is the longest of. */
const DELIVERIES_KEPT = 4;

export class ListEmitter {
  private startedAt: number | undefined;
  private firstSent = false;
  private pendingSince: number | undefined;
  private lastChange: number | undefined;
  private settleFrom: number | undefined;
  /** When the last list was due. */
  private lastListAt = Number.NEGATIVE_INFINITY;
  /** The last few lists' delivery times, ms (a ring). */
  private readonly deliveries: number[] = [];
  private nextDelivery = 0;
  /** How much earlier than `maxDelayMs` a list goes out under a steady stream: its delivery time. */
  private leadMs = 0;

  constructor(private readonly timing: EmitterTiming = defaultEmitterTiming) {}

  start(now: number): void {
    this.startedAt = now;
  }

  /**
   * The broker connection came up: before the first list, settle from now (what arrives
   * right after subscribing is the start-up burst), still within firstMaxWaitMs of start.
   */
  online(now: number): void {
    if (this.firstSent || this.startedAt === undefined) return;
    this.settleFrom = now;
  }

  /** What Akri would see may have changed. */
  changed(now: number): void {
    this.pendingSince ??= now;
    this.lastChange = now;
  }

  nextDeadline(): number | undefined {
    if (this.startedAt === undefined) return undefined;
    if (!this.firstSent) {
      const earliest = (this.settleFrom ?? this.startedAt) + this.timing.settleMs;
      const quiet =
        this.lastChange === undefined ? earliest : Math.max(earliest, this.lastChange + this.timing.quietMs);
      return Math.min(quiet, this.startedAt + this.timing.firstMaxWaitMs);
    }
    if (this.pendingSince === undefined) return undefined;
    const { quietMs, maxDelayMs } = this.timing;
    const latest = Math.max(this.lastListAt + maxDelayMs - this.leadMs, this.pendingSince + quietMs);
    return Math.min(this.lastChange! + quietMs, latest);
  }

  /** The last list took `ms` to reach the consumer (from being made to being written out). */
  delivered(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.deliveries[this.nextDelivery] = ms;
    this.nextDelivery = (this.nextDelivery + 1) % DELIVERIES_KEPT;
    this.leadMs = Math.min(Math.max(...this.deliveries), this.timing.maxDelayMs / 10);
  }

  /** Is a list due at `now`? (The caller still sends it only if its content differs from the last.) */
  due(now: number): boolean {
    const deadline = this.nextDeadline();
    if (deadline === undefined || deadline > now) return false;
    this.firstSent = true;
    this.lastListAt = Math.max(deadline, now - this.timing.maxDelayMs / 10);
    this.pendingSince = undefined;
    this.lastChange = undefined;
    return true;
  }
}
