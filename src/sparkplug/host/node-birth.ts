import { DataType } from "../datatype.js";
import { MetricTable } from "../metric-table.js";
import { BDSEQ_METRIC, REBIRTH_METRIC, type SparkplugPayload } from "../payload.js";
import type { MessageHandler } from "./context.js";
import { type HostModel, scheduleNode, sequenceOf } from "./host-model.js";
import { type EdgeNode, newBirth } from "./model.js";
import type { StepOutput } from "./step.js";

/**
 * NBIRTH (live): the node is online and this birth replaces its whole model. Devices known
 * from before must send their DBIRTH again; until then they are awaiting birth, and those
 * that have not by the first DATA (or the settle deadline) are gone.
 */
export const handleNodeBirth: MessageHandler = (ctx) => {
  const { model, out, payload, now, node } = ctx;
  const bdSeq = bdSeqOf(payload);
  warnAboutBirth(out, ctx.message.topic, payload, bdSeq);
  const reborn = node.status === "online" && !node.stale && node.bdSeq === bdSeq;
  const metrics = birthTable(model, out, node, payload);

  node.status = "online";
  node.stale = false;
  node.bdSeq = bdSeq;
  node.birth = newBirth(node, now, payload.timestamp, "live", metrics);
  node.diedAt = undefined;
  node.unprovenSince = undefined;
  node.staleDeadline = undefined;
  if (ctx.message.broker !== undefined) node.broker = ctx.message.broker;
  if (payload.seq === undefined) sequenceOf(node).forget();
  else sequenceOf(node).reset(payload.seq % 256);
  model.policy.satisfied(node.group, node.edge);

  let awaiting = 0;
  for (const device of node.devices.values()) {
    if (device.status === "offline") continue;
    device.awaitingBirth = true;
    device.stale = true;
    awaiting++;
  }
  node.deviceSettleDeadline = awaiting > 0 ? now + model.options.deviceRebirthSettleMs : undefined;
  if (node.deviceSettleDeadline !== undefined) scheduleNode(model, node, node.deviceSettleDeadline);
  out.emit({
    kind: "node-born",
    group: node.group,
    edge: node.edge,
    bdSeq: bdSeq?.toString(),
    reborn,
    source: "live",
  });
};

/**
 * An NBIRTH of unknown freshness (`ctx.source`): a Sparkplug-aware broker's certificate or
 * a retained NBIRTH. It teaches the birth tables (so DATA decodes without a rebirth) but
 * proves nothing about liveness: the node stays unknown until live traffic shows it is alive.
 */
export const handleUnprovenNodeBirth: MessageHandler = (ctx) => {
  const { model, out, payload, now, source, node } = ctx;
  const bdSeq = bdSeqOf(payload);
  // Live knowledge wins, and so does a stale session that this birth belongs to.
  if (node.status === "online" && (!node.stale || node.bdSeq === bdSeq)) return;
  if (node.status === "offline" && node.bdSeq !== undefined && node.bdSeq === bdSeq) return; // that session is over
  node.bdSeq = bdSeq;
  node.birth = newBirth(node, now, payload.timestamp, source, birthTable(model, out, node, payload));
  // Stale after our own outage, and the node started a new session meanwhile: it takes the
  // new session's tables and bdSeq (so its Will matches), but a broker outage is no death.
  if (node.status === "online") return;
  node.status = "unknown";
  node.unprovenSince = now;
  scheduleNode(model, node, now + model.options.unprovenGraceMs);
};

/** Reads the bdSeq metric of an NBIRTH or NDEATH as a bigint. */
export function bdSeqOf(payload: SparkplugPayload): bigint | undefined {
  const metric = payload.metrics.find((m) => m.name === BDSEQ_METRIC);
  const value = metric?.value;
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  return undefined;
}

function birthTable(
  model: HostModel,
  out: StepOutput,
  node: EdgeNode,
  payload: SparkplugPayload,
): MetricTable {
  const table = MetricTable.fromBirth(payload.metrics, undefined, model.options.birthValues);
  for (const alias of table.duplicateAliases) {
    out.emit({ kind: "duplicate-alias", group: node.group, edge: node.edge, alias: alias.toString() });
  }
  return table;
}

function warnAboutBirth(
  out: StepOutput,
  topic: string,
  payload: SparkplugPayload,
  bdSeq: bigint | undefined,
): void {
  if (bdSeq === undefined) {
    out.emit({
      kind: "protocol-warning",
      topic,
      message: "NBIRTH has no bdSeq metric: its NDEATH cannot be matched",
    });
  }
  if (payload.seq === undefined) {
    out.emit({ kind: "protocol-warning", topic, message: "NBIRTH has no seq" });
  } else if (payload.seq > 255) {
    out.emit({ kind: "protocol-warning", topic, message: `NBIRTH seq ${payload.seq} is outside 0-255` });
  }
  const rebirth = payload.metrics.find((m) => m.name === REBIRTH_METRIC);
  if (!rebirth) {
    out.emit({ kind: "protocol-warning", topic, message: `NBIRTH has no "${REBIRTH_METRIC}" metric` });
  } else if (rebirth.datatype !== DataType.Boolean) {
    out.emit({ kind: "protocol-warning", topic, message: `"${REBIRTH_METRIC}" must be Boolean` });
  }
}
