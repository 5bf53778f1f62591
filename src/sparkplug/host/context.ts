import type { MqttMessage } from "../../mqtt/message.js";
import type { UnresolvedMetric } from "../decode.js";
import type { SparkplugPayload } from "../payload.js";
import type { DeviceTopic, EdgeTopic, StateTopic } from "../topic.js";
import type { HostModel } from "./host-model.js";
import type { BirthSource, EdgeNode } from "./model.js";
import type { ProcessedMessage, StepOutput } from "./step.js";

/**
 * One received message as its handler sees it: the session's state, the output and time of
 * the step that handles it, and what was received. Ingress builds it once per message (the
 * DATA path allocates no other object for it). A message held back for a missing seq keeps
 * its context; the step that releases it puts in its own `out` and `now`.
 */
export interface MessageContext<
  Topic extends EdgeTopic | StateTopic = EdgeTopic,
  Payload = SparkplugPayload,
  Node extends EdgeNode | undefined = EdgeNode,
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
  unresolved?: readonly UnresolvedMetric[] | undefined;
  /** The record of this message in the step's output. */
  readonly processed: ProcessedMessage;
  /**
   * The topic's edge node: made (unknown, not born) before the handler runs for every verb
   * that may make one; for NDEATH and commands, only if the session knew it; none for STATE.
   */
  node: Node;
  /** How it arrived; a birth that came as a certificate or a retained message is unproven. */
  readonly source: BirthSource;
}

/** A context whose node the session may not know (NDEATH, commands: they make none). */
export type AnyNodeContext<Topic extends EdgeTopic = EdgeTopic> = MessageContext<
  Topic,
  SparkplugPayload,
  EdgeNode | undefined
>;

/**
 * The one signature of every host message handler (a file per message kind).
 *
 * A handler touches only its context's node (and that node's devices and seq), never another
 * node: the step that runs it dates a change on that node alone (`changes.ts`), and the quiet
 * lane goes on trusting what it checked on every other node. A handler that must reach
 * further (a timer, a broker, a STATE) is not a message handler: its step dates all nodes.
 */
export type MessageHandler<
  Topic extends EdgeTopic | StateTopic = EdgeTopic,
  Payload = SparkplugPayload,
  Node extends EdgeNode | undefined = EdgeNode,
> = (ctx: MessageContext<Topic, Payload, Node>) => void;

/** Is it a device's message? (What a device verb's handler may count on.) */
export function isDeviceMessage<Node extends EdgeNode | undefined>(
  ctx: MessageContext<EdgeTopic, SparkplugPayload, Node>,
): ctx is MessageContext<DeviceTopic, SparkplugPayload, Node> {
  return ctx.topic.kind === "device";
}

/** Does the context have its node? (Made by ingress for every verb that may make one.) */
export function hasNode<Topic extends EdgeTopic>(
  ctx: AnyNodeContext<Topic>,
): ctx is MessageContext<Topic, SparkplugPayload, EdgeNode> {
  return ctx.node !== undefined;
}
