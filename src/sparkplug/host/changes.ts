import type { SparkplugTopic } from "../topic.js";
import type { HostModel } from "./host-model.js";
import type { EdgeNode } from "./model.js";

/*
 * The one place that dates changes for the quiet lane. The lane keeps, per DATA topic, the
 * birth it found quiet at model change `Birth.quietAt`, and trusts it while no later change
 * is dated on its node (EdgeNode.changedAt) or on all nodes (HostModel.allChangedAt). So
 * every step that takes the full path says here what it may touch, before it touches it:
 * - quiet DATA touches nothing but its node's seq, which the lane checks itself: no date;
 * - an edge message touches its own node (a handler touches only its context's node, see
 *   MessageHandler), and so does a rebirth request sent to a node;
 * - anything else (STATE, certificates, ticks, a broker online or lost, a rebirth asked
 *   for by the caller, shutdown) may touch any node: all are dated.
 */

/** What a full-path step may change: nothing, one node (its devices, its seq), or any node. */
export type Reach = "nothing" | EdgeNode | "all";

/**
 * What a message that takes the full path may change, by its topic. `node` is its topic's
 * node if the session knows it; a node that the message makes is in no quiet route yet.
 */
export function messageReach(topic: SparkplugTopic, node: EdgeNode | undefined): Reach {
  switch (topic.kind) {
    case "node":
    case "device":
      return node ?? "nothing";
    case "not-sparkplug":
      // Reported, never acted on.
      return "nothing";
    default:
      // STATE, certificates.
      return "all";
  }
}

/** What an input that is not a message may change (time, a broker, the caller): any node. */
export const INPUT_REACH: Reach = "all";

/** What sending a rebirth request to a node may change: that node (its stale deadline). */
export function rebirthReach(node: EdgeNode | undefined): Reach {
  return node ?? "nothing";
}

/** Dates a change on what a step may touch: the quiet lane checks again what it kept there. */
export function dateChange(model: HostModel, reach: Reach): void {
  if (reach === "nothing") return;
  if (reach === "all") model.allChangedAt = ++model.changes;
  else reach.changedAt = ++model.changes;
}
