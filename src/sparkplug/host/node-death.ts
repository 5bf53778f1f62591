import type { SparkplugPayload } from "../payload.js";
import type { EdgeTopic } from "../topic.js";
import type { MessageHandler } from "./context.js";
import { sequenceOf } from "./host-model.js";
import type { EdgeNode } from "./model.js";
import { bdSeqOf } from "./node-birth.js";
import type { StepOutput } from "./step.js";

/**
 * NDEATH: honoured only when it ends the current session, i.e. the node is online and the
 * death's bdSeq equals the bdSeq of the NBIRTH that opened the session. Anything else is a
 * stale death (the Will of an older connection arriving after the next NBIRTH, or the
 * broker's Will after the node's own NDEATH) and is ignored. A valid death takes the node
 * and all its devices offline at the host's receive time (3.0: NDEATH timestamps are
 * meaningless).
 */
export const handleNodeDeath: MessageHandler<EdgeTopic, SparkplugPayload, EdgeNode | undefined> = (ctx) => {
  const { out, topic, payload, now } = ctx;
  const messageTopic = ctx.message.topic;
  const node = ctx.node;
  const bdSeq = bdSeqOf(payload);
  if (payload.seq !== undefined) {
    out.emit({ kind: "protocol-warning", topic: messageTopic, message: "NDEATH must not carry a seq" });
  }
  const ignore = (reason: string): void =>
    out.emit({
      kind: "stale-death-ignored",
      group: topic.group,
      edge: topic.edge,
      bdSeq: bdSeq?.toString(),
      sessionBdSeq: node?.bdSeq?.toString(),
      reason,
    });
  if (!node || node.birth === undefined) {
    ignore("no NBIRTH of this node has been seen");
    return;
  }
  if (node.status === "offline") {
    ignore("the node is already offline");
    return;
  }
  if (bdSeq === undefined) {
    out.emit({
      kind: "protocol-warning",
      topic: messageTopic,
      message: "NDEATH has no bdSeq metric: honoured without session matching",
    });
    if (node.status !== "online") {
      ignore("the node is not online and the death names no session");
      return;
    }
  } else if (node.bdSeq === undefined) {
    if (node.status !== "online") {
      ignore("the node is not online and its birth named no session");
      return;
    }
  } else if (bdSeq !== node.bdSeq) {
    ignore(`bdSeq ${bdSeq} belongs to another session (current session: ${node.bdSeq})`);
    return;
  }
  // An unproven node (certificate) whose death matches its birth is dead as well.
  markNodeDead(out, node, now, "ndeath");
};

/** Takes a node and every device under it offline, their metrics stale. */
export function markNodeDead(
  out: StepOutput,
  node: EdgeNode,
  now: number,
  reason: "ndeath" | "silent-after-reconnect",
): void {
  node.status = "offline";
  node.stale = true;
  node.diedAt = now;
  node.deviceSettleDeadline = undefined;
  node.staleDeadline = undefined;
  node.unprovenSince = undefined;
  sequenceOf(node).forget();
  out.emit({ kind: "node-died", group: node.group, edge: node.edge, reason, at: now });
  for (const device of node.devices.values()) {
    device.stale = true;
    device.awaitingBirth = false;
    if (device.status === "offline") continue;
    device.status = "offline";
    device.diedAt = now;
    out.emit({
      kind: "device-died",
      group: node.group,
      edge: node.edge,
      device: device.id,
      reason: "node-died",
      at: now,
    });
  }
}
