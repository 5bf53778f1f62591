import type { ReportEntry } from "../discovery/report.js";
import { ActivityMinutes } from "./activity-minutes.js";

/*
 * The live feed of the fleet page (GET /events, Server-Sent Events): what every Discover
 * stream's discovery reported (births, deaths, stale deaths ignored, rebirths requested,
 * problems with their topic and byte offset), newest last. The latest BACKLOG are kept for
 * a page that opens later. Births and deaths are debug-level in the logs (a plant's start is
 * thousands of them) but are the feed's very purpose; only bookkeeping kinds are left out.
 */

export interface FleetEvent {
  /** Sequence number of the event (the SSE id). */
  n: number;
  at: string;
  stream: number;
  kind: string;
  severity: "debug" | "info" | "warn";
  problem: boolean;
  subject: string | null;
  message: string;
}

const BACKLOG = 200;

/** Report kinds that say nothing a person watching the plant needs. */
const QUIET_KINDS: ReadonlySet<string> = new Set(["reorder-healed", "host-state", "rebirth-observed"]);

export class FleetEvents {
  private readonly backlog: FleetEvent[] = [];
  private readonly listeners = new Set<(event: FleetEvent) => void>();
  private n = 0;
  /** Births, deaths and rebirth requests per minute (the page's chart; GET /activity). */
  readonly minutes = new ActivityMinutes();

  /** Takes a discovery's report entries. */
  publish(stream: number, entries: readonly ReportEntry[], at = Date.now()): void {
    for (const entry of entries) {
      this.minutes.count(stream, entry.kind, at);
      if (QUIET_KINDS.has(entry.kind)) continue;
      const event: FleetEvent = {
        n: ++this.n,
        at: new Date(at).toISOString(),
        stream,
        kind: entry.kind,
        severity: entry.severity,
        problem: entry.problem,
        subject: entry.subject ?? null,
        message: entry.message,
      };
      this.backlog.push(event);
      if (this.backlog.length > BACKLOG) this.backlog.shift();
      for (const listener of this.listeners) listener(event);
    }
  }

  /** The events kept, oldest first. */
  recent(): readonly FleetEvent[] {
    return this.backlog;
  }

  /** Calls `listener` with every event from now on; returns how to stop. */
  listen(listener: (event: FleetEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
