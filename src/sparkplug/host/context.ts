import type { MqttMessage } from "../../mqtt/message.js";
import { earlier } from "../../time/deadline.js";
import type { UnresolvedMetric } from "../decode.js";
import { BDSEQ_METRIC, type SparkplugPayload } from "../payload.js";
import type { HostState } from "../state.js";
import type { EdgeTopic, SparkplugTopic, StateTopic } from "../topic.js";
import type { HostCommand, HostEvent, RebirthReason, Scope } from "./events.js";
import { type BirthSource, type EdgeNode, type HostApplication, newEdgeNode } from "./model.js";
import type { HostOptions } from "./options.js";
import type { RebirthPolicy } from "./rebirth-policy.js";
import { SequenceTracker } from "./sequence.js";

/** One message as the session processed it, with what it caused (what `inspect` prints). */
export interface ProcessedMessage {
  message: MqttMessage;
  topic: SparkplugTopic;
  /** The decoded payload of an edge or certificate message. */
  payload?: SparkplugPayload;
  /** The parsed payload of a STATE message. */
  state?: HostState;
  events: HostEvent[];
  /** How long the message was held back waiting for a missing seq. */
  heldMs?: number;
}

/**
 * One received message as its handler sees it: the session's state, the output and time of
 * the step that handles it, and what was received. The session builds it once per message
 * (the DATA path allocates no other object for it). A message held back for a missing seq
 * keeps its context; the step that releases it puts in its own `out` and `now`.
 */
export interface MessageContext<
  Topic extends EdgeTopic | StateTopic = EdgeTopic,
  Payload = SparkplugPayload,
> {
  readonly model: HostModel;
  out: StepOutput;
  /** Host time of the step that handles the message, ms. */
  now: number;
  readonly message: MqttMessage;
  /** The parsed topic; for a certificate, the birth topic it carries. */
  readonly topic: Topic;
  /** The decoded payload, or the parsed STATE. A held message is decoded again when released. */
  payload: Payload;
  /**
   * For DATA summarised without its values (`decodeDataValues` off): the metrics the birth
   * table does not resolve. Undefined when `payload.metrics` holds every metric.
   */
  unresolved?: UnresolvedMetric[] | undefined;
  /** The record of this message in the step's output. */
  readonly processed: ProcessedMessage;
  /**
   * The topic's edge node if the session knew it when the message arrived (created by then
   * for DBIRTH, DDEATH and DATA); undefined for STATE.
   */
  node: EdgeNode | undefined;
  /** How it arrived; a birth that came as a certificate or a retained message is unproven. */
  readonly source: BirthSource;
}

/** The one signature of every host message handler (a file per message kind). */
export type MessageHandler<Topic extends EdgeTopic | StateTopic = EdgeTopic, Payload = SparkplugPayload> = (
  ctx: MessageContext<Topic, Payload>,
) => void;

/** The host's whole state. Handlers mutate it; only HostSession.step calls them. */
export interface HostModel {
  readonly options: HostOptions;
  readonly nodes: Map<string, EdgeNode>;
  /** The same nodes by group, then edge: found from a topic's levels without building a key. */
  readonly nodesByGroup: Map<string, Map<string, EdgeNode>>;
  readonly hosts: Map<string, HostApplication>;
  readonly policy: RebirthPolicy;
  /** Node keys with a pending deadline (reorder, settle, stale, unproven), so ticks skip the rest. */
  readonly timed: Set<string>;
  /**
   * No deadline of a node in `timed` is before this. It may be earlier than the real first
   * one (deadlines that are cleared or met leave it be); a tick then finds nothing to do and
   * moves it. Every message asks for the next deadline, so that must not walk every node.
   */
  timedFrom: number | undefined;
  /**
   * The brokers we are connected to, each with the timestamp of our STATE Will (and birth) of
   * its current session: Sparkplug keeps a STATE timestamp per server.
   */
  readonly brokers: Map<string, number>;
  /**
   * A count of the changes to the model that the quiet lane must hear of: every step that is
   * not a quiet DATA message makes one, dated on the node it touched (EdgeNode.changedAt) or,
   * when it may touch any node (time passing, a broker, a STATE), on all of them
   * (`allChangedAt`).
   */
  changes: number;
  allChangedAt: number;
}

/** A processed message, or an event that belongs to no message (timers, held-back gaps). */
export type TimelineEntry =
  | { kind: "message"; processed: ProcessedMessage }
  | { kind: "event"; event: HostEvent };

/** Collects the output of one step, attributing events to the message being processed. */
export class StepOutput {
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
}

/** Something about `node` or its devices may change (the quiet lane re-checks their topics). */
export function nodeChanged(model: HostModel, node: EdgeNode): void {
  node.changedAt = ++model.changes;
}

/** Something about any node may change. */
export function allChanged(model: HostModel): void {
  model.allChangedAt = ++model.changes;
}

/** The edge node, if the session knows it. */
export function findNode(model: HostModel, group: string, edge: string): EdgeNode | undefined {
  return model.nodesByGroup.get(group)?.get(edge);
}

/** The edge node, created (unknown, not born) if the session does not know it yet. */
export function getNode(model: HostModel, group: string, edge: string): EdgeNode {
  let edges = model.nodesByGroup.get(group);
  let node = edges?.get(edge);
  if (!node) {
    node = newEdgeNode(group, edge);
    model.nodes.set(node.key, node);
    if (!edges) {
      edges = new Map();
      model.nodesByGroup.set(node.group, edges);
    }
    edges.set(node.edge, node);
  }
  return node;
}

export function sequenceOf(node: EdgeNode): SequenceTracker<MessageContext> {
  node.sequence ??= new SequenceTracker<MessageContext>();
  return node.sequence as SequenceTracker<MessageContext>;
}

/** Notes that `node` has a deadline at `at` (reorder, settle, stale, unproven): a tick will look at it then. */
export function scheduleNode(model: HostModel, node: EdgeNode, at: number): void {
  model.timed.add(node.key);
  model.timedFrom = earlier(model.timedFrom, at);
}

/** A stale node was asked to rebirth: if it stays silent for staleTimeoutMs it is gone. */
export function startStaleDeadline(model: HostModel, node: EdgeNode | undefined, now: number): void {
  if (!node?.stale || node.status === "offline" || node.staleDeadline !== undefined) return;
  node.staleDeadline = now + model.options.staleTimeoutMs;
  scheduleNode(model, node, node.staleDeadline);
}

/** Asks the policy for a rebirth of the node in `scope` (it may decline: switches, intervals). */
export function requestRebirth(model: HostModel, scope: Scope, reason: RebirthReason, now: number): void {
  // The policy keeps its own deadline for the request; the node gets one (stale) once it is sent.
  model.policy.request(scope, reason, now);
}

export function scopeOf(node: EdgeNode): Scope;
export function scopeOf(node: EdgeNode, device: string): Scope & { device: string };
export function scopeOf(node: EdgeNode, device: string | undefined): Scope;
export function scopeOf(node: EdgeNode, device?: string): Scope {
  return device === undefined
    ? { group: node.group, edge: node.edge }
    : { group: node.group, edge: node.edge, device };
}

/** Reads the bdSeq metric of an NBIRTH or NDEATH as a bigint. */
export function bdSeqOf(payload: SparkplugPayload): bigint | undefined {
  const metric = payload.metrics.find((m) => m.name === BDSEQ_METRIC);
  const value = metric?.value;
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  return undefined;
}
