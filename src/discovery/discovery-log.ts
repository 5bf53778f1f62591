import type { Logger } from "../log.js";
import type { ReportEntry, Severity } from "./report.js";

/*
 * What a discovery saw, as structured log lines, from its report: every bad or suspicious
 * message with its topic (and node, device, byte offset), rebirth requests, births and
 * deaths (debug), each at its entry's severity.
 * A plant that floods garbage must not flood the log too: each kind of event logs at most
 * `burst` lines per window, then one line saying how many more were suppressed. The
 * counters in /metrics count every one.
 */

export interface DiscoveryLogOptions {
  /** Lines per kind per window before suppression. */
  burst?: number;
  windowMs?: number;
  /** Fields on every line (e.g. the Discover stream). */
  context?: Record<string, unknown>;
}

export class DiscoveryLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: DiscoveryLogOptions = {},
  ) {
    this.burst = options.burst ?? 20;
    this.windowMs = options.windowMs ?? 10_000;
  }

  /** Logs what one engine step reports. */
  observe(output: { report: readonly ReportEntry[] }, now = Date.now()): void {
    for (const entry of output.report)
      this.line(entry.severity, entry.kind, now, () => [entry.fields, entry.message]);
  }

  private line(
    level: Severity,
    kind: string,
    now: number,
    describe: () => [Record<string, unknown>, string],
  ): void {
    if (!this.log.isLevelEnabled(level)) return;
    let window = this.windows.get(kind);
    if (!window || now - window.start >= this.windowMs) {
      if (window) this.flush(kind, window);
      window = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(kind, window);
    }
    if (window.logged >= this.burst) {
      window.suppressed++;
      this.scheduleFlush();
      return;
    }
    window.logged++;
    const [fields, message] = describe();
    this.log[level]({ ...this.options.context, event: kind, ...fields }, message);
  }

  private flush(kind: string, window: { suppressed: number }): void {
    if (window.suppressed === 0) return;
    this.log.warn(
      { ...this.options.context, event: kind, suppressed: window.suppressed, windowMs: this.windowMs },
      `${window.suppressed} more ${kind} events not logged (see /metrics for the counts)`,
    );
    window.suppressed = 0;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      for (const [kind, window] of this.windows) this.flush(kind, window);
    }, this.windowMs);
    this.flushTimer.unref();
  }

  /** Logs what was suppressed so far and stops the timer. */
  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const [kind, window] of this.windows) this.flush(kind, window);
  }
}
