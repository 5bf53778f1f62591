import type { Logger } from "../log.js";
import { describeEvent } from "../sparkplug/host/describe.js";
import type { HostEvent, HostEventKind } from "../sparkplug/host/events.js";
import type { EngineOutput } from "./engine.js";

/*
 * What a discovery saw, as structured log lines: every bad or suspicious message with its
 * topic (and node, device, byte offset), rebirth requests, births and deaths (debug).
 * A plant that floods garbage must not flood the log too: each kind of event logs at most
 * `burst` lines per window, then one line saying how many more were suppressed. The
 * counters in /metrics count every one.
 */

type Level = "debug" | "info" | "warn";

const HOST_LEVELS: Record<HostEventKind, Level> = {
  "node-born": "debug",
  "node-died": "debug",
  "device-born": "debug",
  "device-died": "debug",
  "node-stale": "debug",
  "reorder-healed": "debug",
  "broker-lost": "debug",
  "broker-online": "debug",
  "host-state": "debug",
  "rebirth-observed": "debug",
  "rebirth-requested": "info",
  "seq-gap": "info",
  "seq-duplicate": "info",
  "stale-death-ignored": "info",
  "data-before-birth": "info",
  "retained-message": "info",
  "host-state-ignored": "info",
  "decode-error": "warn",
  "not-sparkplug": "warn",
  "protocol-warning": "warn",
  "reorder-expired": "warn",
  "unknown-metric": "warn",
  "duplicate-alias": "warn",
};

export interface DiscoveryLogOptions {
  /** Lines per kind per window before suppression. */
  burst?: number;
  windowMs?: number;
  /** Fields on every line (e.g. the Discover stream). */
  context?: Record<string, unknown>;
}

/** Where an event happened, as log fields. */
function fieldsOf(event: HostEvent): Record<string, unknown> {
  const { kind: _kind, ...fields } = event;
  return fields;
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
  observe(output: EngineOutput, now = Date.now()): void {
    for (const event of output.hostEvents) {
      const level = HOST_LEVELS[event.kind];
      this.line(level, event.kind, now, () => [fieldsOf(event), describeEvent(event)]);
    }
    for (const event of output.presenceEvents) {
      if (event.kind === "unmatched-topic")
        this.line("warn", event.kind, now, () => [
          { topic: event.topic },
          "message on a subscribed topic that the deviceId template does not match",
        ]);
      else if (event.kind === "retained-ignored")
        this.line("debug", event.kind, now, () => [
          { topic: event.topic },
          "retained message without a recent timestamp ignored",
        ]);
      else
        this.line("debug", event.kind, now, () => [
          { id: event.id },
          event.kind === "device-appeared" ? "device appeared" : "device idle",
        ]);
    }
    for (const rejected of output.rejected) {
      this.line("warn", rejected.reason, now, () => [
        { topic: rejected.topic, bytes: rejected.bytes, limit: rejected.limit },
        `message skipped: payload of ${rejected.bytes} bytes exceeds maxPayloadBytes (${rejected.limit})`,
      ]);
    }
  }

  private line(
    level: Level,
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
