import { resolvedIndex, type UnresolvedMetric } from "../decode.js";
import type { MessageContext, MessageHandler } from "./context.js";
import { getDevice } from "./device-birth.js";
import { scopeOf } from "./host-model.js";
import type { EdgeNode } from "./model.js";
import type { StepOutput } from "./step.js";

/**
 * NDATA / DDATA (in seq order). DATA from a node (or device) whose birth we have not seen
 * cannot be decoded (3.0 DATA has aliases and no datatypes) and means we missed a birth:
 * ask for a rebirth. DATA naming a metric that is not in the birth asks for one as well.
 * The first DATA after an NBIRTH also ends the birth burst: devices that were not reborn
 * by then are gone.
 */
export const handleData: MessageHandler = (ctx) => {
  const { model, out, topic, now, node } = ctx;
  const deviceId = topic.kind === "device" ? topic.device : undefined;
  if (node.status !== "online") {
    if (deviceId !== undefined) getDevice(node, deviceId);
    out.emit({ kind: "data-before-birth", ...scopeOf(node, deviceId), verb: topic.verb });
    model.policy.request(scopeOf(node), "unknown-node", now);
    return;
  }
  settleDevices(out, node, now);
  if (deviceId !== undefined) {
    const device = getDevice(node, deviceId);
    if (device.status !== "online" || device.awaitingBirth) {
      if (device.status === "unknown" && device.birth !== undefined && !device.awaitingBirth) {
        // Known from a certificate, and now proven alive by its own traffic.
        device.status = "online";
        device.stale = false;
        out.emit({ kind: "device-born", ...scopeOf(node, deviceId), source: device.birth.source });
      } else {
        out.emit({ kind: "data-before-birth", ...scopeOf(node, deviceId), verb: topic.verb });
        model.policy.request(scopeOf(node), "unknown-node", now);
        return;
      }
    }
  }
  // Summarised DATA comes with what its birth does not resolve; decoded DATA is looked up here.
  const unresolved = ctx.unresolved ?? resolveMetrics(ctx, node, deviceId);
  for (const metric of unresolved) {
    out.emit({
      kind: "unknown-metric",
      ...scopeOf(node, deviceId),
      alias: metric.alias?.toString(),
      name: metric.name,
    });
  }
  if (unresolved.length > 0) model.policy.request(scopeOf(node), "unknown-metric", now);
};

/**
 * The metrics of decoded DATA that its birth does not resolve; the others' values are
 * tracked when the host tracks values.
 */
function resolveMetrics(
  ctx: MessageContext,
  node: EdgeNode,
  deviceId: string | undefined,
): readonly UnresolvedMetric[] {
  const { payload, model } = ctx;
  const table = deviceId === undefined ? node.birth?.metrics : node.devices.get(deviceId)?.birth?.metrics;
  const track = model.options.trackValues;
  const unresolved: UnresolvedMetric[] = [];
  for (const metric of payload.metrics) {
    const index = resolvedIndex(metric, table);
    if (index === undefined) unresolved.push({ alias: metric.alias, name: metric.name });
    // Historical values are back-fill: they never replace the current value. The last
    // non-historical occurrence in a payload is the current one (they are in time order).
    else if (track && !metric.isHistorical)
      table!.setValue(index, metric.value, metric.timestamp ?? payload.timestamp);
  }
  return unresolved;
}

/** Ends a birth burst: devices still awaiting their DBIRTH after an NBIRTH are offline. */
export function settleDevices(out: StepOutput, node: EdgeNode, now: number): void {
  if (node.deviceSettleDeadline === undefined) return;
  node.deviceSettleDeadline = undefined;
  for (const device of node.devices.values()) {
    if (!device.awaitingBirth) continue;
    device.awaitingBirth = false;
    device.status = "offline";
    device.diedAt = now;
    out.emit({ kind: "device-died", ...scopeOf(node, device.id), reason: "not-reborn", at: now });
  }
}
