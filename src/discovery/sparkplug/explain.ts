import type { EdgeNode, EntityStatus } from "../../sparkplug/host/model.js";
import type { MetricTable } from "../../sparkplug/metric-table.js";
import { entityId } from "../../sparkplug/topic.js";
import { sortDevices, type UnlistedEntity } from "../device.js";
import { type FilterList, shouldInclude } from "../filter-list.js";
import { selectorMismatch } from "./birth-selectors.js";
import type { SparkplugDetails } from "./details.js";
import { shardOf } from "./shard.js";

/*
 * Why a Sparkplug entity the host has seen is not listed (`/devices?all=true`, `discover
 * --explain`, the fleet page): the first reason that keeps it out, in the order the
 * inventory decides. Computed when asked, from the host model and the details.
 */

export interface ExplainOptions {
  sparkplug: SparkplugDetails;
  offlineGraceSeconds: number;
  /** The host model's edge nodes. */
  nodes: ReadonlyMap<string, EdgeNode>;
}

type Reason = UnlistedEntity["reason"];

/** The reason a FilterList leaves `item` out (naming the list and the item), or undefined if it keeps it. */
function excludedBy(key: string, filter: FilterList | undefined, item: string): Reason | undefined {
  if (shouldInclude(filter, item)) return undefined;
  return {
    code: "excluded-by-filter",
    message:
      filter?.action === "Include"
        ? `${key} Include does not list ${JSON.stringify(item)}`
        : `${key} Exclude lists ${JSON.stringify(item)}`,
  };
}

/** Why a Configuration of one shard leaves this edge node (and its devices) out, if it does. */
function otherShard(shard: SparkplugDetails["shard"], group: string, edge: string): Reason | undefined {
  if (shard === undefined) return undefined;
  const at = shardOf(group, edge, shard.count);
  if (at === shard.index) return undefined;
  return {
    code: "in-another-shard",
    message: `edge node ${group}/${edge} is in shard ${at} of ${shard.count}; this Configuration lists shard ${shard.index}`,
  };
}

/** An unlisted entity's status, from the model. */
function entityStatus(status: EntityStatus, stale: boolean, awaitingBirth = false): UnlistedEntity["status"] {
  if (status === "unknown" || awaitingBirth) return "awaiting-birth";
  if (status === "offline") return "offline";
  return stale ? "stale" : "online";
}

/** Why `discover` leaves this kind out, if it does. */
function kindOut(discover: SparkplugDetails["discover"], kind: "devices" | "nodes"): Reason | undefined {
  return discover === kind
    ? {
        code: "not-discovered-kind",
        message:
          kind === "devices"
            ? "discover: devices lists devices, not edge nodes"
            : "discover: nodes lists edge nodes, not devices",
      }
    : undefined;
}

/**
 * Every edge node and device of the model that is not listed now, with the first reason
 * that keeps it out, in the order the listing decides: filters, the shard, the kind discovered, a
 * missing birth, birthMetrics selectors, then death past the grace period.
 */
export function unlistedEntities(
  options: ExplainOptions,
  isListed: (id: string) => boolean,
): UnlistedEntity[] {
  const { sparkplug } = options;
  const out: UnlistedEntity[] = [];
  const nodesOut = kindOut(sparkplug.discover, "devices");
  const devicesOut = kindOut(sparkplug.discover, "nodes");
  for (const node of options.nodes.values()) {
    const nodeId = entityId(node.group, node.edge);
    const nodeTable = node.birth?.metrics;
    const excluded =
      excludedBy("groupIds", sparkplug.groupIds, node.group) ??
      excludedBy("edgeNodeIds", sparkplug.edgeNodeIds, node.edge) ??
      otherShard(sparkplug.shard, node.group, node.edge);
    if (!isListed(nodeId)) {
      const reason =
        excluded ?? nodesOut ?? whyNotListed(options, node.status, false, nodeTable, undefined, "NBIRTH");
      if (reason)
        out.push({
          id: nodeId,
          kind: "sparkplug-node",
          status: entityStatus(node.status, node.stale),
          reason,
        });
    }
    for (const device of node.devices.values()) {
      const id = entityId(node.group, node.edge, device.id);
      if (isListed(id)) continue;
      const status =
        node.status === "offline"
          ? "offline"
          : entityStatus(device.status, node.stale || device.stale, device.awaitingBirth);
      const reason =
        excluded ??
        devicesOut ??
        excludedBy("deviceIds", sparkplug.deviceIds, device.id) ??
        whyNotListed(
          options,
          node.status === "offline" ? "offline" : device.status,
          device.awaitingBirth,
          device.birth?.metrics,
          nodeTable,
          "DBIRTH",
        );
      if (reason) out.push({ id, kind: "sparkplug-device", status, reason });
    }
  }
  return sortDevices(out);
}

/** Why a seen entity that no filter leaves out is not listed (undefined: it should be). */
function whyNotListed(
  options: ExplainOptions,
  status: EntityStatus,
  awaitingBirth: boolean,
  table: MetricTable | undefined,
  fallback: MetricTable | undefined,
  birth: "NBIRTH" | "DBIRTH",
): Reason | undefined {
  if (status === "unknown" || awaitingBirth)
    return {
      code: "awaiting-birth",
      message: awaitingBirth
        ? `its node was reborn and its ${birth} has not come again yet`
        : `traffic seen but no live ${birth} yet (a rebirth is requested)`,
    };
  const mismatch = selectorMismatch(options.sparkplug.birthMetrics, table, fallback);
  if (mismatch !== undefined) return { code: "birth-metrics-mismatch", message: mismatch };
  if (status === "offline")
    return {
      code: "offline",
      message: `dead, and past offlineGraceSeconds (${options.offlineGraceSeconds} s)`,
    };
  return undefined;
}
