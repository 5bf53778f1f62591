import { MetricTable } from "../metric-table.js";
import type { DeviceTopic } from "../topic.js";
import type { MessageHandler } from "./context.js";
import { scheduleNode, scopeOf } from "./host-model.js";
import { type Device, type EdgeNode, newBirth, newDevice } from "./model.js";

export function getDevice(node: EdgeNode, id: string): Device {
  let device = node.devices.get(id);
  if (!device) {
    device = newDevice(node, id);
    node.devices.set(id, device);
  }
  return device;
}

/**
 * DBIRTH (live, in seq order): replaces the device's model and takes it online. It belongs
 * to the node's current session, so a DBIRTH from a node whose NBIRTH we have not seen
 * is kept (we now know the device and its metrics) but does not make it online: the node
 * is asked to rebirth.
 */
export const handleDeviceBirth: MessageHandler<DeviceTopic> = (ctx) => {
  const { model, out, now, topic, node } = ctx;
  const device = getDevice(node, topic.device);
  const metrics = MetricTable.fromBirth(ctx.payload.metrics, node.birth?.metrics, model.options.birthValues);
  for (const alias of metrics.duplicateAliases) {
    out.emit({ kind: "duplicate-alias", ...scopeOf(node, device.id), alias: alias.toString() });
  }
  device.birth = newBirth(node, now, ctx.payload.timestamp, "live", metrics);
  device.awaitingBirth = false;
  if (node.status !== "online") {
    device.status = "unknown";
    device.stale = false;
    out.emit({ kind: "data-before-birth", ...scopeOf(node, device.id), verb: "DBIRTH" });
    model.policy.request(scopeOf(node), "unknown-node", now);
    return;
  }
  device.status = "online";
  device.stale = false;
  device.diedAt = undefined;
  out.emit({ kind: "device-born", ...scopeOf(node, device.id), source: "live" });
};

/** A DBIRTH of unknown freshness (certificate or retained, as `ctx.source` says): tables, not liveness. */
export const handleUnprovenDeviceBirth: MessageHandler<DeviceTopic> = (ctx) => {
  const { model, out, now, source, topic, node } = ctx;
  const device = getDevice(node, topic.device);
  if (device.status === "online" && !device.stale) return;
  if (device.status === "offline" && device.birth?.source === "live") return; // it died after this birth
  const metrics = MetricTable.fromBirth(ctx.payload.metrics, node.birth?.metrics, model.options.birthValues);
  for (const alias of metrics.duplicateAliases) {
    out.emit({ kind: "duplicate-alias", ...scopeOf(node, device.id), alias: alias.toString() });
  }
  device.birth = newBirth(node, now, ctx.payload.timestamp, source, metrics);
  // A device that was online before our own outage stays listed: a certificate proves nothing either way.
  if (device.status === "online") return;
  device.status = "unknown";
  if (node.unprovenSince === undefined) node.unprovenSince = now;
  scheduleNode(model, node, node.unprovenSince + model.options.unprovenGraceMs);
};
