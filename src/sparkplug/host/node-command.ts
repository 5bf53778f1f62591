import type { SparkplugPayload } from "../payload.js";
import { REBIRTH_METRIC } from "../payload.js";
import type { EdgeTopic } from "../topic.js";
import type { MessageHandler } from "./context.js";
import { startStaleDeadline } from "./host-model.js";
import type { EdgeNode } from "./model.js";

/**
 * NCMD (another host's, or our own echoed back). A rebirth request counts for the rebirth
 * policy as one of ours, so the node is not asked twice; any other command changes nothing
 * the host tracks.
 */
export const handleNodeCommand: MessageHandler<EdgeTopic, SparkplugPayload, EdgeNode | undefined> = (ctx) => {
  const { model, out, topic, now } = ctx;
  if (!ctx.payload.metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)) return;
  model.policy.observed(topic.group, topic.edge, now);
  out.emit({ kind: "rebirth-observed", group: topic.group, edge: topic.edge, by: "other-host" });
  // Whoever asked, a stale node now has staleTimeoutMs to answer.
  startStaleDeadline(model, ctx.node, now);
};
