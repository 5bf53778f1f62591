import type { Will } from "../mqtt/connection.js";
import { topicMatcher } from "../mqtt/topic-filter.js";
import type { Discoverer, DiscoveryCommand, DiscoveryInput } from "./discoverer.js";
import { payloadTooLarge } from "./engine.js";
import type { ReportEntry } from "./report.js";

/*
 * One reading of a broker's traffic shared by several discoveries (Akri calls Discover once
 * per Configuration, and a plant is several Configurations: one per device class). A mode
 * that can share (Sparkplug: one host session per host id) reads each message once in its
 * SharedReader; every discovery is a view of it with its own filters, list and report.
 * Views see no message: a step of the reader that found something wakes them, and each view's
 * engine lists on its own timing. So quiet traffic costs one step, however many views.
 */

/** A discovery's own Discoverer over a shared reading. */
export interface SharedView extends Discoverer {
  /** An entry for this view's report from the reading itself (e.g. an over-size payload). */
  note(entry: ReportEntry): void;
}

/** What reads the traffic once for every view. */
export interface SharedReader<D> {
  readonly will: Will | undefined;
  /**
   * A new view for a discovery's details; what was already read is in it at once. Commands
   * it causes (e.g. rebirth requests for birth values no view needed before) go in `commands`.
   */
  join(details: D, now: number, commands: DiscoveryCommand[]): SharedView;
  leave(view: SharedView): void;
  /** Applies one input; true when it gave the views something (they are then woken). */
  step(input: DiscoveryInput, now: number, commands: DiscoveryCommand[]): boolean;
  nextDeadline(): number | undefined;
}

/** How a mode shares a reading between discoveries. */
export interface ModeSharing<D, O> {
  /** The details key a Configuration changes to have a reading of its own (`sparkplug.hostId`). */
  readonly ownKey: string;
  /** Which discoveries (on the same brokers) share one: e.g. Sparkplug's STATE host id. */
  key(details: D, options: O): string;
  /**
   * What every view of one reading must agree on, by the key a user writes
   * (`sparkplug.rebirth.reorderTimeoutMs` → its value): a discovery that differs is refused.
   */
  settings(details: D): Record<string, unknown>;
  /** The reader, made for the first discovery. */
  reader(details: D, options: O): SharedReader<D>;
}

/** The result of a shared step: commands to publish, and whether the views have something new. */
export interface SharedStep {
  readonly commands: readonly DiscoveryCommand[];
  readonly woke: boolean;
}

const NOTHING: SharedStep = Object.freeze({ commands: Object.freeze([]), woke: false });

/**
 * A shared reader as a reducer for runReducer: only the views' topics reach it (a pooled
 * connection brings others'), and no payload over the size limit is decoded (the limit is
 * one of the settings views agree on), as the engine does for a discovery of its own.
 */
export class SharedReading<D> {
  private readonly views = new Map<SharedView, ((topic: string) => boolean)[]>();

  constructor(
    readonly reader: SharedReader<D>,
    private readonly maxPayloadBytes: number,
  ) {}

  get size(): number {
    return this.views.size;
  }

  join(details: D, now: number, commands: DiscoveryCommand[]): SharedView {
    const view = this.reader.join(details, now, commands);
    this.views.set(view, view.subscriptions.map(topicMatcher));
    return view;
  }

  leave(view: SharedView): void {
    this.views.delete(view);
    this.reader.leave(view);
  }

  private wanted(topic: string): boolean {
    for (const matchers of this.views.values())
      for (const matches of matchers) if (matches(topic)) return true;
    return false;
  }

  step(input: DiscoveryInput, now: number): SharedStep {
    if (input.kind === "message") {
      const { topic, payload } = input.message;
      if (!this.wanted(topic)) return NOTHING;
      if (payload.byteLength > this.maxPayloadBytes) {
        const entry = payloadTooLarge(topic, payload.byteLength, this.maxPayloadBytes);
        for (const view of this.views.keys()) view.note(entry);
        return { commands: [], woke: true };
      }
    }
    const commands: DiscoveryCommand[] = [];
    const woke = this.reader.step(input, now, commands);
    return commands.length === 0 && !woke ? NOTHING : { commands, woke };
  }

  nextDeadline(): number | undefined {
    return this.reader.nextDeadline();
  }
}
