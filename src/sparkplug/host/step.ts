import type { MqttMessage } from "../../mqtt/message.js";
import type { SparkplugPayload } from "../payload.js";
import type { HostState } from "../state.js";
import type { SparkplugTopic } from "../topic.js";
import type { HostCommand, HostEvent } from "./events.js";

/*
 * What one step of the host session gives back. The session and its handlers write into a
 * StepOutput; readers see a HostStep, read-only, so a step of quiet DATA can be one shared
 * empty value.
 */

/** One message as the session processed it, with what it caused (what `inspect` prints). */
export interface ProcessedMessage {
  readonly message: MqttMessage;
  readonly topic: SparkplugTopic;
  /** The decoded payload of an edge or certificate message. */
  payload?: SparkplugPayload;
  /** The parsed payload of a STATE message. */
  state?: HostState;
  readonly events: HostEvent[];
  /** How long the message was held back waiting for a missing seq. */
  heldMs?: number;
}

/** A processed message, or an event that belongs to no message (timers, held-back gaps). */
export type TimelineEntry =
  | { readonly kind: "message"; readonly processed: ProcessedMessage }
  | { readonly kind: "event"; readonly event: HostEvent };

export interface HostStep {
  /** Messages processed in this step, in processing order (held messages when released). */
  readonly processed: readonly ProcessedMessage[];
  /** Processed messages and events of no message, in the order they happened. */
  readonly timeline: readonly TimelineEntry[];
  /** Every event of this step, in order. */
  readonly events: readonly HostEvent[];
  readonly commands: readonly HostCommand[];
}

/** The step of a DATA message that changed nothing but its node's seq: shared, never changed. */
export const QUIET_STEP: HostStep = Object.freeze({
  processed: Object.freeze([]),
  timeline: Object.freeze([]),
  events: Object.freeze([]),
  commands: Object.freeze([]),
});

/** Collects the output of one step, attributing events to the message being processed. */
export class StepOutput implements HostStep {
  readonly events: HostEvent[] = [];
  readonly commands: HostCommand[] = [];
  readonly processed: ProcessedMessage[] = [];
  /** Messages and unattributed events in the order they happened. */
  readonly timeline: TimelineEntry[] = [];
  private current: ProcessedMessage | undefined;

  begin(processed: ProcessedMessage): void {
    this.current = processed;
    this.processed.push(processed);
    this.timeline.push({ kind: "message", processed });
  }

  end(): void {
    this.current = undefined;
  }

  /** Takes a message out of this step's output (it is held back and will be begun again later). */
  retract(processed: ProcessedMessage): void {
    const index = this.processed.indexOf(processed);
    if (index >= 0) this.processed.splice(index, 1);
    const at = this.timeline.findIndex((e) => e.kind === "message" && e.processed === processed);
    if (at >= 0) this.timeline.splice(at, 1);
    if (this.current === processed) this.current = undefined;
  }

  emit(event: HostEvent): void {
    this.events.push(event);
    if (this.current) this.current.events.push(event);
    else this.timeline.push({ kind: "event", event });
  }

  command(command: HostCommand): void {
    this.commands.push(command);
  }

  /** What the step gives back: its own lists, without the collector's methods. */
  result(): HostStep {
    return {
      processed: this.processed,
      timeline: this.timeline,
      events: this.events,
      commands: this.commands,
    };
  }
}
