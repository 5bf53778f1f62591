import { topicMatcher } from "../mqtt/topic-filter.js";
import { earlier } from "../time/deadline.js";
import { type DeviceStatus, type DiscoveredDevice, sameAkriDevice, type UnlistedEntity } from "./device.js";
import type { Discoverer, DiscoveryCommand, DiscoveryInput, StepSink } from "./discoverer.js";
import { defaultEmitterTiming, type EmitterTiming, ListEmitter } from "./list-emitter.js";
import { type ReportEntry, reportEntry } from "./report.js";

/*
 * One discovery as a reducer, whatever its mode: inputs at a time in; device lists (when
 * due and different), commands to publish and a report of what happened out. What is
 * common to every mode lives here: only the discovery's own topics reach the mode, no
 * payload over the size limit is decoded, and lists go out on the list emitter's timing,
 * only when Akri would see a difference. The RxJS pipeline (streams/discovery-pipeline.ts)
 * only feeds it and schedules its deadlines, live or on virtual time, which is what makes
 * replay deterministic.
 */

/** A discovery's inputs, and the consumer's word on how long its last list took to deliver. */
export type EngineInput = DiscoveryInput | { kind: "delivered"; ms: number };

const TICK: DiscoveryInput = { kind: "tick" };

/** A device list to send: the full current list, sorted by id. */
export interface DeviceListEmission {
  at: number;
  devices: DiscoveredDevice[];
  /** How a device of the list is doing now (not when the list was made). */
  statusOf: (id: string) => DeviceStatus | undefined;
  /** The broker a device of the list is on now (never in its properties, which must not change). */
  brokerOf: (id: string) => string | undefined;
  /** What discovery has seen but not listed, now, and why. */
  unlisted: () => UnlistedEntity[];
  /** Facts about an entity for people, now (see Discoverer.factsOf). */
  factsOf: (id: string) => Record<string, string | number> | undefined;
}

export interface EngineOutput {
  readonly emissions: readonly DeviceListEmission[];
  readonly commands: readonly DiscoveryCommand[];
  readonly report: readonly ReportEntry[];
  /** Devices newly listed in this step (see StepSink). */
  readonly listed: readonly DiscoveredDevice[];
}

/** Where a step's output is collected: the mode's StepSink, and the lists the engine sends. */
type OutputSink = StepSink & { emissions: DeviceListEmission[] };

/** The output of a step that caused nothing: shared, never changed. */
const QUIET_OUTPUT: EngineOutput = Object.freeze({
  emissions: Object.freeze([]),
  commands: Object.freeze([]),
  report: Object.freeze([]),
  listed: Object.freeze([]),
});

export interface EngineOptions {
  /** Larger payloads are counted and skipped, never decoded. */
  maxPayloadBytes: number;
  timing?: EmitterTiming;
}

function sameList(a: readonly DiscoveredDevice[], b: readonly DiscoveredDevice[]): boolean {
  return a.length === b.length && a.every((device, i) => sameAkriDevice(device, b[i]!));
}

/** The report entry of a message skipped for its size. */
export function payloadTooLarge(topic: string, bytes: number, limit: number): ReportEntry {
  return reportEntry(
    "payload-too-large",
    "warn",
    true,
    topic,
    { topic, bytes, limit },
    () => `message skipped: payload of ${bytes} bytes exceeds maxPayloadBytes (${limit})`,
  );
}

export class DiscoveryEngine {
  private readonly emitter: ListEmitter;
  private readonly matchers: ((topic: string) => boolean)[];
  private readonly maxPayloadBytes: number;
  private seenVersion = 0;
  private lastSent: DiscoveredDevice[] | undefined;
  /** Where the next step puts its output (kept while steps leave it empty). */
  private scratch: OutputSink = { emissions: [], commands: [], report: [], listed: [] };
  private readonly statusOf = (id: string) => this.discoverer.statusOf(id);
  private readonly brokerOf = (id: string) => this.discoverer.brokerOf(id);
  private readonly unlisted = () => this.discoverer.unlisted();
  private readonly factsOf = (id: string) => this.discoverer.factsOf(id);

  constructor(
    readonly discoverer: Discoverer,
    options: EngineOptions,
  ) {
    this.emitter = new ListEmitter(options.timing ?? defaultEmitterTiming);
    this.matchers = discoverer.subscriptions.map(topicMatcher);
    this.maxPayloadBytes = options.maxPayloadBytes;
  }

  /** Is a message on `topic` one of ours? (A shared connection brings other discoveries' topics too.) */
  private wanted(topic: string): boolean {
    for (const matches of this.matchers) if (matches(topic)) return true;
    return false;
  }

  /** The MQTT topic filters this discovery subscribes to. */
  get subscriptions(): readonly string[] {
    return this.discoverer.subscriptions;
  }

  /** Starts the clock for the first list. */
  start(now: number): void {
    this.emitter.start(now);
  }

  step(engineInput: EngineInput, now: number): EngineOutput {
    const out = this.scratch;
    let input: DiscoveryInput;
    if (engineInput.kind === "delivered") {
      this.emitter.delivered(engineInput.ms);
      input = TICK;
    } else input = engineInput;
    if (input.kind === "message") {
      const { topic, payload } = input.message;
      if (!this.wanted(topic)) input = TICK;
      else if (payload.byteLength > this.maxPayloadBytes) {
        out.report.push(payloadTooLarge(topic, payload.byteLength, this.maxPayloadBytes));
        input = TICK;
      }
    } else if (input.kind === "online") {
      this.emitter.online(now);
    }
    this.discoverer.step(input, now, out);
    this.emitDue(out, now);
    // Most messages change nothing: they share one empty output instead of four new arrays.
    if (out.emissions.length + out.commands.length + out.report.length + out.listed.length === 0)
      return QUIET_OUTPUT;
    this.scratch = { emissions: [], commands: [], report: [], listed: [] };
    return out;
  }

  /** Sends the list if it is due and differs from the last one sent. */
  private emitDue(out: OutputSink, now: number): void {
    const version = this.discoverer.version;
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.emitter.changed(now);
    }
    if (!this.emitter.due(now)) return;
    const devices = this.discoverer.list();
    if (this.lastSent !== undefined && sameList(devices, this.lastSent)) return;
    this.lastSent = devices;
    out.emissions.push({
      at: now,
      devices,
      statusOf: this.statusOf,
      brokerOf: this.brokerOf,
      unlisted: this.unlisted,
      factsOf: this.factsOf,
    });
  }

  /** The earliest time `step({kind: "tick"})` has something to do. */
  nextDeadline(): number | undefined {
    return earlier(this.discoverer.nextDeadline(), this.emitter.nextDeadline());
  }
}
