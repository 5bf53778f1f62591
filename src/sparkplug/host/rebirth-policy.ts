import { earlier } from "../../time/deadline.js";
import type { RebirthReason, Scope } from "./events.js";
import { nodeKey } from "./model.js";
import type { RebirthOptions } from "./options.js";

/*
 * Rebirth requests are disruptive (every NBIRTH and DBIRTH of the node is sent again), so
 * they never storm a plant:
 * - a switch per trigger, and maxPerSecond 0 turns them all off;
 * - at most one request per node per minIntervalPerNodeMs, counting the requests that
 *   other hosts (other replicas of this handler) sent, which we see on spBv1.0/#;
 * - at most maxPerSecond requests in any one-second window, across all nodes, paced evenly;
 *   the rest wait their turn;
 * - each request first waits a random jitterMs/4..jitterMs: when N replicas notice the same
 *   unknown node at once, the first one asks and the others see its NCMD and stand down.
 */

interface PendingRequest {
  scope: Scope;
  reason: RebirthReason;
  due: number;
}

export interface DueRequest {
  scope: Scope;
  reason: RebirthReason;
}

const WINDOW_MS = 1000;

export class RebirthPolicy {
  /** Last request per node, ours or another host's. */
  private readonly lastRequest = new Map<string, number>();
  /** Times of our own requests in the current window. */
  private sent: number[] = [];
  private readonly pending = new Map<string, PendingRequest>();
  /**
   * No pending request is due before this; it may be earlier than the real first one, and
   * then a check finds nothing and moves it. A plant joined cold can have thousands of
   * requests waiting their turn while its traffic flows: no message may walk them all.
   */
  private dueFrom: number | undefined;

  constructor(
    private readonly options: RebirthOptions,
    private readonly random: () => number,
  ) {}

  private allows(reason: RebirthReason): boolean {
    if (this.options.maxPerSecond <= 0) return false;
    switch (reason) {
      case "seq-gap":
        return this.options.onSeqGap;
      case "unknown-metric":
      case "duplicate-alias":
        return this.options.onUnknownMetric;
      default:
        return this.options.onUnknownNode;
    }
  }

  /** Queues a request unless its trigger is off or the node was asked recently. */
  request(scope: Scope, reason: RebirthReason, now: number): boolean {
    if (!this.allows(reason)) return false;
    const key = nodeKey(scope.group, scope.edge);
    if (this.pending.has(key)) return false;
    const last = this.lastRequest.get(key);
    if (last !== undefined && now - last < this.options.minIntervalPerNodeMs) return false;
    const due = now + this.jitter();
    this.pending.set(key, { scope: { group: scope.group, edge: scope.edge }, reason, due });
    // Nothing goes out before the rate limit's next slot, however early it is due.
    this.dueFrom = earlier(this.dueFrom, Math.max(due, this.nextSlot()));
    return true;
  }

  /**
   * A wait of jitterMs/4 to jitterMs: never so short that another host's request, already
   * on its way through the broker, cannot arrive first.
   */
  private jitter(): number {
    const { jitterMs } = this.options;
    return Math.floor(jitterMs / 4 + this.random() * (jitterMs * 0.75));
  }

  /** A rebirth NCMD for this node seen on the broker (another host's, or our own echoed back). */
  observed(group: string, edge: string, now: number): void {
    const key = nodeKey(group, edge);
    this.lastRequest.set(key, now);
    this.pending.delete(key);
  }

  /** The node was born: a queued request for it is moot. */
  satisfied(group: string, edge: string): void {
    this.pending.delete(nodeKey(group, edge));
  }

  /**
   * Requests whose jitter has passed and that the rate limit lets through now. The limit
   * paces requests evenly (one per 1/maxPerSecond s) rather than in bursts, and those it
   * holds back get a fresh jitter after the next free slot: replicas then claim nodes one
   * at a time, in different orders, and keep seeing each other's NCMDs.
   */
  due(now: number): DueRequest[] {
    if (this.pending.size === 0 || this.dueFrom === undefined || now < this.dueFrom) return [];
    this.sent = this.sent.filter((t) => t > now - WINDOW_MS);
    const ready: [string, PendingRequest][] = [];
    let next: number | undefined;
    for (const entry of this.pending) {
      const due = entry[1].due;
      if (due <= now) ready.push(entry);
      else next = earlier(next, due);
    }
    ready.sort((a, b) => a[1].due - b[1].due);
    const out: DueRequest[] = [];
    for (const [key, request] of ready) {
      const slot = this.nextSlot();
      if (slot > now) {
        request.due = slot + this.jitter();
        next = earlier(next, request.due);
        continue;
      }
      this.pending.delete(key);
      this.sent.push(now);
      this.lastRequest.set(key, now);
      out.push({ scope: request.scope, reason: request.reason });
    }
    // Until the rate limit's next slot nothing can go out: a plant joined cold has thousands
    // of requests due one after another, and each must not make every message walk them all.
    this.dueFrom = next === undefined ? undefined : Math.max(next, this.nextSlot());
    if (out.length > 0) this.pruneHistory(now);
    return out;
  }

  /** The earliest time the rate limit allows the next request. */
  private nextSlot(): number {
    const last = this.sent.at(-1);
    if (last === undefined) return Number.NEGATIVE_INFINITY;
    const paced = last + WINDOW_MS / this.options.maxPerSecond;
    const windowFull = this.sent.length >= this.options.maxPerSecond ? this.sent[0]! + WINDOW_MS : paced;
    return Math.max(paced, windowFull);
  }

  /** When `due` may next have something to release, if anything is pending. */
  nextDeadline(): number | undefined {
    return this.pending.size === 0 ? undefined : this.dueFrom;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private pruneHistory(now: number): void {
    // Forget intervals that can no longer suppress anything, so the map tracks only recent nodes.
    if (this.lastRequest.size < 1024) return;
    for (const [key, at] of this.lastRequest) {
      if (now - at >= this.options.minIntervalPerNodeMs) this.lastRequest.delete(key);
    }
  }
}
