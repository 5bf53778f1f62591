import type { MqttMessage } from "../../mqtt/message.js";
import { type DataSummary, type DecodeResult, decodePayload } from "../decode.js";
import { parseStatePayload } from "../state.js";
import { type EdgeTopic, parseTopic } from "../topic.js";
import { dateChange, messageReach } from "./changes.js";
import { type AnyNodeContext, hasNode } from "./context.js";
import { decodeEdge, decodeError, takePayload } from "./edge-payload.js";
import { findNode, getNode, type HostModel } from "./host-model.js";
import { handleHostState } from "./host-state.js";
import type { BirthSource, EdgeNode } from "./model.js";
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

/**
 * Takes a message to its handler, recording it in the step's output. What it may change is
 * dated first (changes.ts), from its topic and the node the session knew.
 */
export function ingest(model: HostModel, message: MqttMessage, out: StepOutput, now: number): void {
  const topic = parseTopic(message.topic);
  const edge = topic.kind === "node" || topic.kind === "device" ? topic : undefined;
  const named = topic.kind === "certificate" ? topic.birth : edge;
  const node = named && findNode(model, named.group, named.edge);
  dateChange(model, messageReach(topic, node));
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
        const ctx = contextOf({ model, out, now, processed }, topic.birth, node, "certificate", decoded);
        if (ctx !== undefined) ROUTES[topic.birth.verb].unproven?.(ctx);
        return;
      }
      default:
        ingestEdge({ model, out, now, processed }, topic, node);
    }
  } finally {
    out.end();
  }
}

/** Where a message is taken: the model, the step's output and time, and its record there. */
interface Step {
  readonly model: HostModel;
  readonly out: StepOutput;
  readonly now: number;
  readonly processed: ProcessedMessage;
}

/** An edge message: decoded once with its birth table, then to its route. */
function ingestEdge(step: Step, topic: EdgeTopic, node: EdgeNode | undefined): void {
  const { model, out } = step;
  const { message } = step.processed;
  const decoded = decodeEdge(model, topic, message.payload, node);
  const ctx = contextOf(step, topic, node, message.retain ? "retained" : "live", decoded);
  if (ctx === undefined) return;
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

/** The handler's context of an edge payload (or a certificate's); undefined, and reported, if it did not decode. */
function contextOf(
  { model, out, now, processed }: Step,
  topic: EdgeTopic,
  node: EdgeNode | undefined,
  source: BirthSource,
  decoded: DecodeResult | DataSummary,
): AnyNodeContext | undefined {
  const { message } = processed;
  if (!decoded.ok) {
    out.emit(decodeError(message.topic, decoded.error));
    return undefined;
  }
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
  return ctx;
}
