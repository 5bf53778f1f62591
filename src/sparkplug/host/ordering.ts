import type { MessageContext } from "./context.js";
import { decodeEdge, takePayload } from "./edge-payload.js";
import { type HostModel, scheduleNode, scopeOf, sequenceOf } from "./host-model.js";
import type { EdgeNode } from "./model.js";
import { ROUTES } from "./routes.js";
import type { StepOutput } from "./step.js";

/*
 * Ordering: the messages that carry a node's seq (DBIRTH, NDATA, DDATA, DDEATH) reach their
 * handler in seq order. Each is first a sign of life of its node; then its seq is checked
 * (unless the profile does not check seq): the next one is handled at once, with what was
 * held behind it; one ahead opens a gap and is held; a duplicate is dropped. A gap that is
 * not healed by the reorder timeout expires (a timer, or a held run that fills the window):
 * what is held is handled anyway and the node is asked to rebirth.
 */

/** A message whose seq decides when it is handled; its node is made by now. */
export function order(ctx: MessageContext): void {
  const { out, now, topic, payload, message, node, model } = ctx;
  if (message.broker !== undefined) node.heardOn = message.broker;
  proveAlive(out, node);
  if (!model.options.checkSequence) {
    handle(ctx);
    return;
  }
  if (payload.seq === undefined || payload.seq > 255) {
    out.emit({
      kind: "protocol-warning",
      topic: message.topic,
      message: payload.seq === undefined ? `${topic.verb} has no seq` : `seq ${payload.seq} is outside 0-255`,
    });
    handle(ctx);
    return;
  }
  const tracker = sequenceOf<MessageContext>(node);
  const verdict = tracker.accept(payload.seq, ctx, now);
  switch (verdict.kind) {
    case "in-order": {
      const healing = tracker.gapOpenedAt;
      handle(ctx);
      for (const held of tracker.releaseInOrder()) handleHeld(out, held.item, held.heldAt, now);
      if (healing !== undefined && tracker.gapOpenedAt === undefined) {
        out.emit({ kind: "reorder-healed", ...scopeOf(node), seq: payload.seq, waitedMs: now - healing });
      }
      return;
    }
    case "held":
      out.end();
      out.retract(ctx.processed);
      if (verdict.opened) {
        out.emit({ kind: "seq-gap", ...scopeOf(node), expected: verdict.expected, received: payload.seq });
        scheduleNode(model, node, now + model.options.rebirth.reorderTimeoutMs);
        if (model.options.rebirth.reorderTimeoutMs <= 0) expireGap(model, out, node, now);
      }
      return;
    case "duplicate":
      out.emit({ kind: "seq-duplicate", ...scopeOf(node), seq: payload.seq });
      return;
    case "overflow":
      // A birth of hundreds of devices after a lost message: give the gap up now, not
      // after the timeout (the rest of the birth would be dropped as duplicates).
      out.end();
      out.retract(ctx.processed);
      expireGap(model, out, node, now);
      tracker.accept(payload.seq, ctx, now);
      handleHeld(out, ctx, now, now);
      return;
  }
}

/** The gap was not healed in time: what is held is handled anyway, and the node asked to rebirth. */
export function expireGap(model: HostModel, out: StepOutput, node: EdgeNode, now: number): void {
  const { released, missing } = sequenceOf<MessageContext>(node).expire();
  out.emit({ kind: "reorder-expired", ...scopeOf(node), missing });
  for (const held of released) handleHeld(out, held.item, held.heldAt, now);
  model.policy.request(scopeOf(node), "seq-gap", now);
}

/** Live traffic from a node known only from a certificate, or stale after a reconnect, proves it alive. */
function proveAlive(out: StepOutput, node: EdgeNode): void {
  if (node.stale && node.status === "online") {
    node.stale = false;
    node.staleDeadline = undefined;
  }
  if (node.status === "unknown" && node.birth !== undefined && node.birth.source !== "live") {
    node.status = "online";
    node.stale = false;
    const { source } = node.birth;
    out.emit({ kind: "node-born", ...scopeOf(node), bdSeq: node.bdSeq?.toString(), reborn: false, source });
  }
}

function handle(ctx: MessageContext): void {
  ROUTES[ctx.topic.verb].handle(ctx);
}

/** Handles a message released from the reorder buffer, decoded again with today's tables. */
function handleHeld(out: StepOutput, ctx: MessageContext, heldAt: number, now: number): void {
  // It is handled in this step, at this time: not in the one that held it back.
  ctx.out = out;
  ctx.now = now;
  const decoded = decodeEdge(ctx.model, ctx.topic, ctx.message.payload, ctx.node);
  if (decoded.ok) takePayload(ctx, decoded);
  ctx.processed.heldMs = now - heldAt;
  out.begin(ctx.processed);
  try {
    handle(ctx);
  } finally {
    out.end();
  }
}
