import type { MqttMessage } from "../../mqtt/message.js";
import { decodePayload } from "../decode.js";
import { parseStatePayload } from "../state.js";
import { type EdgeTopic, parseTopic, type SparkplugTopic } from "../topic.js";
import { dateChange, messageReach } from "./changes.js";
import { type AnyNodeContext, hasNode } from "./context.js";
import { decodeEdge, decodeError, takePayload } from "./edge-payload.js";
import { findNode, getNode, type HostModel } from "./host-model.js";
import { handleHostState } from "./host-state.js";
import type { EdgeNode } from "./model.js";
import { order } from "./ordering.js";
import { ROUTES } from "./routes.js";
import type { ProcessedMessage, StepOutput } from "./step.js";

/*
 * Ingress: from a message that is not quiet DATA (the session asked the quiet lane first)
 * to its handler's context. The topic is parsed once and the node looked up once; STATE,
 * certificates and retained messages are told apart; an edge payload is decoded once with
 * its birth table, and the verb's route (routes.ts) says who takes it: ordering, or its
 * handler directly.
 */

/** A message as it arrives: its parsed topic, and its node if the session knows one. */
interface Arrival {
  readonly message: MqttMessage;
  readonly topic: SparkplugTopic;
  readonly node: EdgeNode | undefined;
}

/**
 * Takes a message to its handler, recording it in the step's output. What it may change is
 * dated first (changes.ts), from its topic and the node the session knew.
 */
export function ingest(model: HostModel, message: MqttMessage, out: StepOutput, now: number): void {
  const topic = parseTopic(message.topic);
  const edge = topic.kind === "node" || topic.kind === "device" ? topic : undefined;
  const named = topic.kind === "certificate" ? topic.birth : edge;
  const arrival: Arrival = { message, topic, node: named && findNode(model, named.group, named.edge) };
  dateChange(model, messageReach(topic, arrival.node));
  const processed: ProcessedMessage = { message, topic, events: [] };
  out.begin(processed);
  try {
    switch (topic.kind) {
      case "not-sparkplug":
        out.emit({ kind: "not-sparkplug", topic: message.topic, reason: topic.reason });
        return;
      case "state": {
        const parsed = parseStatePayload(message.payload, topic.version);
        if (!parsed.ok) {
          out.emit({ kind: "protocol-warning", topic: message.topic, message: parsed.error });
          return;
        }
        processed.state = parsed.state;
        const source = message.retain ? "retained" : "live";
        const payload = parsed.state;
        handleHostState({ model, out, now, message, topic, payload, processed, node: undefined, source });
        return;
      }
      case "certificate": {
        const decoded = decodePayload(message.payload);
        if (!decoded.ok) {
          out.emit(decodeError(message.topic, decoded.error));
          return;
        }
        processed.payload = decoded.payload;
        const birth = topic.birth;
        const { payload } = decoded;
        const ctx: AnyNodeContext = {
          model,
          out,
          now,
          message,
          topic: birth,
          payload,
          processed,
          node: arrival.node,
          source: "certificate",
        };
        ROUTES[birth.verb].unproven?.(ctx);
        return;
      }
      default:
        ingestEdge(model, arrival, topic, processed, out, now);
    }
  } finally {
    out.end();
  }
}

function ingestEdge(
  model: HostModel,
  arrival: Arrival,
  topic: EdgeTopic,
  processed: ProcessedMessage,
  out: StepOutput,
  now: number,
): void {
  const { message, node } = arrival;
  const decoded = decodeEdge(model, topic, message.payload, node);
  if (!decoded.ok) {
    out.emit(decodeError(message.topic, decoded.error));
    return;
  }
  const source = message.retain ? "retained" : "live";
  const { payload } = decoded;
  const ctx: AnyNodeContext = {
    model,
    out,
    now,
    message,
    topic,
    payload,
    unresolved: undefined,
    processed,
    node,
    source,
  };
  takePayload(ctx, decoded);
  const route = ROUTES[topic.verb];
  if (message.retain && route.via !== "command") {
    out.emit({ kind: "retained-message", topic: message.topic });
    // A retained birth is of unknown age: it teaches tables, not liveness. Other retained edge messages are ignored.
    route.unproven?.(ctx);
    return;
  }
  if (route.via !== "ordering") {
    route.handle(ctx);
    return;
  }
  ctx.node ??= getNode(model, topic.group, topic.edge);
  if (hasNode(ctx)) order(ctx);
}
