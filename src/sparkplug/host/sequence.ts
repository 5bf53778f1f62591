/*
 * Per-edge-node sequence numbers (3.0 §6.4.2): NBIRTH, DBIRTH, NDATA, DDATA and DDEATH of a
 * node share one counter, 0-255 with wrap; any NBIRTH seq is the base. A message that
 * arrives ahead of the expected seq is held back (in order of seq) and a reorder timer
 * starts; if the missing messages arrive before it expires the held ones are released in
 * order, otherwise they are released anyway and the gap is reported (→ rebirth request).
 */

/** A message held back until the messages before it arrive. */
export interface Held<T> {
  seq: number;
  item: T;
  heldAt: number;
}

export type SeqVerdict =
  /** Process it now (it is the expected one, or the base after a resync). */
  | { kind: "in-order" }
  /** Held back; `opened` is true when this message opened a gap (the timer started). */
  | { kind: "held"; opened: boolean; expected: number }
  /** Already seen or too far behind: drop it. */
  | { kind: "duplicate" }
  /**
   * It carries on from the last held message, but the held run already fills the window: so
   * many messages followed the gap that it can no longer be told apart from old ones. The
   * gap must be given up now (as if its timer expired), then this message is next in line.
   */
  | { kind: "overflow" };

const NOTHING_HELD: readonly never[] = Object.freeze([]);
const IN_ORDER: SeqVerdict = Object.freeze({ kind: "in-order" });

/** Distance ahead within which a seq counts as "later"; beyond it, as "earlier". */
const AHEAD_WINDOW = 128;

export class SequenceTracker<T> {
  /** The seq the next message should carry; undefined until a base is known. */
  private expected: number | undefined = undefined;
  /**
   * Messages held back, while a gap is open (and only then: held is never non-empty without
   * `gapOpenedAt`). Made at the first message held back; most nodes never have one.
   */
  private held: Map<number, Held<T>> | undefined = undefined;
  /** The held seq furthest ahead of the expected one. */
  private lastHeld: number | undefined = undefined;
  /** When the current gap opened (undefined: no gap). */
  gapOpenedAt: number | undefined = undefined;

  /** Takes `seq` as the base (NBIRTH): the next message must be seq + 1. */
  reset(seq: number): void {
    this.expected = (seq + 1) % 256;
    this.held = undefined;
    this.gapOpenedAt = undefined;
  }

  /** Forgets the base (node died, or our broker connection was lost): the next seq is the new base. */
  forget(): void {
    this.expected = undefined;
    this.held = undefined;
    this.gapOpenedAt = undefined;
  }

  /**
   * Takes `seq` if it is simply the next one (a base is known, no gap is open, so nothing is
   * held), as `accept` would; false, changing nothing, otherwise.
   */
  acceptNext(seq: number): boolean {
    if (seq !== this.expected || this.gapOpenedAt !== undefined) return false;
    this.expected = (seq + 1) % 256;
    return true;
  }

  get hasBase(): boolean {
    return this.expected !== undefined;
  }

  get heldCount(): number {
    return this.held?.size ?? 0;
  }

  /** Classifies an arriving seq; an in-order one advances the counter. */
  accept(seq: number, item: T, now: number): SeqVerdict {
    if (this.expected === undefined || seq === this.expected) {
      this.expected = (seq + 1) % 256;
      return IN_ORDER;
    }
    const ahead = (seq - this.expected + 256) % 256;
    const held = this.held;
    if (ahead >= AHEAD_WINDOW && held !== undefined && seq === ((this.lastHeld ?? -2) + 1) % 256)
      return { kind: "overflow" };
    if (ahead >= AHEAD_WINDOW || held?.has(seq)) return { kind: "duplicate" };
    const expected = this.expected;
    if (held === undefined) {
      this.lastHeld = undefined;
      this.held = new Map([[seq, { seq, item, heldAt: now }]]);
    } else held.set(seq, { seq, item, heldAt: now });
    // A late message that fills part of the gap does not move the front.
    if (this.lastHeld === undefined || ahead > (this.lastHeld - expected + 256) % 256) this.lastHeld = seq;
    const opened = this.gapOpenedAt === undefined;
    if (opened) this.gapOpenedAt = now;
    return { kind: "held", opened, expected };
  }

  /** Held messages that are now in order (after an in-order arrival), advancing the counter. */
  releaseInOrder(): readonly Held<T>[] {
    const held = this.held;
    if (held === undefined) return NOTHING_HELD;
    const out: Held<T>[] = [];
    while (this.expected !== undefined) {
      const next = held.get(this.expected);
      if (!next) break;
      held.delete(this.expected);
      out.push(next);
      this.expected = (this.expected + 1) % 256;
    }
    if (held.size === 0) {
      this.held = undefined;
      this.gapOpenedAt = undefined;
    }
    return out;
  }

  /** The gap was not filled in time: every held message in seq order, and the seqs that never came. */
  expire(): { released: Held<T>[]; missing: number[] } {
    const released: Held<T>[] = [];
    const missing: number[] = [];
    if (this.expected === undefined) return { released, missing };
    let seq = this.expected;
    const held = this.held;
    while (held !== undefined && held.size > 0) {
      const next = held.get(seq);
      if (next) {
        held.delete(seq);
        released.push(next);
      } else {
        missing.push(seq);
      }
      seq = (seq + 1) % 256;
    }
    this.held = undefined;
    this.expected = seq;
    this.gapOpenedAt = undefined;
    return { released, missing };
  }
}
