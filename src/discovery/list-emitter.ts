/*
 * When to send a device list (the agent re-applies every Instance per message, so lists
 * must be few): the first one promptly once the start-up burst has settled, then only
 * when what Akri sees changed, coalesced: a list goes out once changes have been quiet
 * for `quietMs`, or at the latest `maxDelayMs` after the first unsent change, so a burst of
 * a thousand births is a handful of lists and a steady trickle still gets through.
 */

export interface EmitterTiming {
  /** Wait this long after start before the first list (unless changes keep coming). */
  settleMs: number;
  /** The first list goes out at the latest this long after start. */
  firstMaxWaitMs: number;
  /** A change waits for this much quiet... */
  quietMs: number;
  /** ...but no longer than this after the first unsent change. */
  maxDelayMs: number;
}

export const defaultEmitterTiming: EmitterTiming = {
  settleMs: 500,
  firstMaxWaitMs: 3000,
  quietMs: 250,
  maxDelayMs: 1000,
};

export class ListEmitter {
  private startedAt: number | undefined;
  private firstSent = false;
  private pendingSince: number | undefined;
  private lastChange: number | undefined;
  private settleFrom: number | undefined;

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
    return Math.min(this.lastChange! + this.timing.quietMs, this.pendingSince + this.timing.maxDelayMs);
  }

  /** Is a list due at `now`? (The caller still sends it only if its content differs from the last.) */
  due(now: number): boolean {
    const deadline = this.nextDeadline();
    if (deadline === undefined || deadline > now) return false;
    this.firstSent = true;
    this.pendingSince = undefined;
    this.lastChange = undefined;
    return true;
  }
}
