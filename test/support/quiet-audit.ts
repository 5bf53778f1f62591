import type { HostSession } from "../../src/sparkplug/host/host-session.js";
import type { Birth } from "../../src/sparkplug/host/model.js";
import { parseTopic } from "../../src/sparkplug/topic.js";

/*
 * The quiet lane keeps, per DATA topic, the birth it found quiet, and trusts it until a step
 * dates a change on its node or on all nodes (src/sparkplug/host/changes.ts). A step that
 * changes a node without dating it would leave the lane trusting a birth that a fresh look
 * no longer finds, and quiet DATA would then skip what the full path would report. This
 * audit looks every trusted entry up afresh in the session's model, by its own reading of
 * the quiet rule (the node online, not stale, not settling its devices; the device online
 * and not awaiting its birth), and names the first entry that disagrees.
 */

/** Why a trusted entry is wrong, or undefined when a fresh lookup finds the same birth. */
function disagreement(session: HostSession, topic: string, kept: Birth): string | undefined {
  const parsed = parseTopic(topic);
  if (parsed.kind !== "node" && parsed.kind !== "device") return `${topic} is not an edge topic`;
  const node = session.node(parsed.group, parsed.edge);
  if (node === undefined) return "its node is unknown";
  if (node.status !== "online" || node.stale || node.deviceSettleDeadline !== undefined)
    return `its node is ${node.status}${node.stale ? ", stale" : ""}${node.deviceSettleDeadline !== undefined ? ", settling its devices" : ""}`;
  let birth = node.birth;
  if (parsed.kind === "device") {
    const device = node.devices.get(parsed.device);
    if (device === undefined) return "its device is unknown";
    if (device.status !== "online" || device.awaitingBirth)
      return `its device is ${device.status}${device.awaitingBirth ? ", awaiting its birth" : ""}`;
    birth = device.birth;
  }
  if (birth !== kept) return "its birth was replaced";
  return undefined;
}

/** Throws if the quiet lane trusts a kept birth that a fresh lookup of the model does not find. */
export function auditQuietLane(session: HostSession, where: string): void {
  for (const [topic, birth] of session.quietEntriesForAudit()) {
    const wrong = disagreement(session, topic, birth);
    if (wrong !== undefined)
      throw new Error(`${where}: the quiet lane trusts its kept birth for ${topic}, but ${wrong}`);
  }
}
