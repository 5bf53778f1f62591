import { Subject } from "rxjs";
import type { MqttMessage } from "../mqtt/message.js";
import { describeEvent, isProblem } from "../sparkplug/host/describe.js";
import type { HostEvent } from "../sparkplug/host/events.js";
import { type HostInput, HostSession } from "../sparkplug/host/host-session.js";
import { hostOptions } from "../sparkplug/host/options.js";
import type { ProcessedMessage, TimelineEntry } from "../sparkplug/host/step.js";
import { type Json, metricToJson, payloadHeaderToJson } from "../sparkplug/json.js";
import { BDSEQ_METRIC } from "../sparkplug/payload.js";
import { runReducer, VirtualClock } from "../streams/timed-reducer.js";

/*
 * `akri-mqtt inspect`: every message through the same host session model the discovery
 * pipeline uses, printed as one JSON line with what it meant and what was wrong with it.
 * Passive: it never publishes (rebirth requests show as events it would have sent).
 */

export interface InspectorOptions {
  /** Reorder timeout for the seq check, ms. */
  reorderTimeoutMs?: number;
}

/** Settles deadlines this long after the last message when a fixture ends. */
const DRAIN_MS = 60_000;

export class Inspector {
  private readonly clock = new VirtualClock();
  private readonly messages$ = new Subject<HostInput>();
  private lines: Json[] = [];
  private lastAt = 0;
  private started = false;
  private readonly session: HostSession;

  constructor(options: InspectorOptions = {}) {
    this.session = new HostSession(
      hostOptions("inspect", {
        hostId: "akri-mqtt-inspect",
        rebirth: { jitterMs: 0, reorderTimeoutMs: options.reorderTimeoutMs ?? 2000 },
      }),
      () => 0,
    );
  }

  /** Feeds one message (its `at` is the time), returning the lines to print. */
  feed(message: MqttMessage): Json[] {
    this.start(message.at);
    this.clock.advanceTo(message.at);
    this.messages$.next({ kind: "message", message });
    this.lastAt = Math.max(this.lastAt, message.at);
    return this.take();
  }

  /** Runs timers due by `now` (live inspection calls this periodically). */
  tick(now: number): Json[] {
    this.start(now);
    this.clock.advanceTo(now);
    return this.take();
  }

  /** After the last message: lets pending reorder and settle timers run out. */
  finish(): Json[] {
    if (this.started) this.clock.advanceTo(this.lastAt + DRAIN_MS);
    return this.take();
  }

  /** The session on the virtual clock, from the first moment seen. */
  private start(at: number): void {
    if (this.started) return;
    this.started = true;
    this.clock.advanceTo(at);
    runReducer(this.session, this.messages$, TICK, this.clock.scheduler).subscribe((step) => {
      this.lines.push(...linesOf(step.timeline, this.clock.now));
    });
  }

  private take(): Json[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}

const TICK: HostInput = { kind: "tick" };

function linesOf(timeline: readonly TimelineEntry[], now: number): Json[] {
  return timeline.map((entry) =>
    entry.kind === "message"
      ? messageLine(entry.processed)
      : { at: new Date(now).toISOString(), event: eventJson(entry.event) },
  );
}

function eventJson(event: HostEvent): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(event)) if (value !== undefined) json[key] = value as Json;
  json.message = describeEvent(event);
  return json;
}

/** One processed message as an inspect line. */
function messageLine(p: ProcessedMessage): { [key: string]: Json } {
  const line: { [key: string]: Json } = { at: new Date(p.message.at).toISOString(), topic: p.message.topic };
  const topic = p.topic;
  switch (topic.kind) {
    case "node":
    case "device":
      line.type = topic.verb;
      line.group = topic.group;
      line.edge = topic.edge;
      if (topic.kind === "device") line.device = topic.device;
      break;
    case "certificate":
      line.type = `CERTIFICATE ${topic.birth.verb}`;
      line.group = topic.birth.group;
      line.edge = topic.birth.edge;
      if (topic.birth.kind === "device") line.device = topic.birth.device;
      break;
    case "state":
      line.type = "STATE";
      line.hostId = topic.hostId;
      line.stateVersion = topic.version;
      break;
    case "not-sparkplug":
      line.type = null;
      break;
  }
  if (p.message.retain) line.retained = true;
  if (p.heldMs !== undefined) line.heldMs = p.heldMs;
  if (p.payload) {
    Object.assign(line, payloadHeaderToJson(p.payload));
    const bdSeq = p.payload.metrics.find((m) => m.name === BDSEQ_METRIC);
    if (bdSeq && (topic.kind === "node" || topic.kind === "certificate")) {
      line.bdSeq =
        typeof bdSeq.value === "bigint" || typeof bdSeq.value === "number" ? String(bdSeq.value) : null;
    }
    line.metrics = p.payload.metrics.map(metricToJson);
  }
  if (p.state) {
    line.online = p.state.online;
    if (p.state.timestamp !== undefined) line.stateTimestamp = p.state.timestamp;
  }
  const events = p.events.filter((e) => !isProblem(e)).map(eventJson);
  const problems: Json[] = p.events.filter(isProblem).map(eventJson);
  // An unresolved metric is already explained by the event that says the birth is missing or lacks it.
  const explained = p.events.some((e) => e.kind === "data-before-birth" || e.kind === "unknown-metric");
  for (const metric of p.payload?.metrics ?? []) {
    if (metric.problem === undefined) continue;
    if (explained && metric.datatypeSource === "none" && metric.problem.startsWith("no datatype")) continue;
    const name = metric.name ?? (metric.alias !== undefined ? `alias ${metric.alias}` : "metric");
    problems.push({ kind: "metric-problem", metric: name, message: `${name}: ${metric.problem}` });
  }
  if (events.length > 0) line.events = events;
  if (problems.length > 0) line.problems = problems;
  return line;
}
