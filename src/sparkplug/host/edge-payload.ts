import { type DataSummary, type DecodeResult, decodePayload, summarizeData } from "../decode.js";
import type { MetricTable } from "../metric-table.js";
import type { EdgeTopic } from "../topic.js";
import type { MessageContext } from "./context.js";
import type { HostEvent } from "./events.js";
import type { HostModel } from "./host-model.js";
import type { EdgeNode } from "./model.js";

/** The birth table that decodes DATA on `topic` (the node's or the device's). */
function tableFor(topic: EdgeTopic, node: EdgeNode | undefined): MetricTable | undefined {
  if (!node) return undefined;
  if (topic.kind === "node") return node.birth?.metrics;
  return node.devices.get(topic.device)?.birth?.metrics;
}

/**
 * Decodes an edge message with its birth table, once: DATA is only summarised when the
 * profile reads no value (discovery). A held message is decoded again when it is released,
 * with the tables of that moment.
 */
export function decodeEdge(
  model: HostModel,
  topic: EdgeTopic,
  bytes: Uint8Array,
  node: EdgeNode | undefined,
): DecodeResult | DataSummary {
  const table = tableFor(topic, node);
  if (!model.options.decodeDataValues && (topic.verb === "NDATA" || topic.verb === "DDATA"))
    return summarizeData(bytes, { table });
  return decodePayload(bytes, { table });
}

/** Puts what a successful decode found into the message's context (and its record, if whole). */
export function takePayload<Node extends EdgeNode | undefined>(
  ctx: MessageContext<EdgeTopic, MessageContext["payload"], Node>,
  decoded: Extract<DecodeResult | DataSummary, { ok: true }>,
): void {
  ctx.payload = decoded.payload;
  ctx.unresolved = "unresolved" in decoded ? decoded.unresolved : undefined;
  if (ctx.unresolved === undefined) ctx.processed.payload = decoded.payload;
}

/** The event of a payload that could not be decoded. */
export function decodeError(topic: string, error: { message: string; offset?: number }): HostEvent {
  return { kind: "decode-error", topic, message: error.message, offset: error.offset };
}
