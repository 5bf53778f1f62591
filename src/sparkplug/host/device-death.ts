import type { DeviceTopic } from "../topic.js";
import type { MessageHandler } from "./context.js";
import { scopeOf } from "./host-model.js";

/**
 * DDEATH (in seq order): the device is offline as of the DDEATH's own payload timestamp
 * (3.0: device deaths carry the authoritative time; the host's receive time if absent).
 * A DDEATH is believed even from a node whose session we do not know, since it can only
 * make a device go away; the node is then asked to rebirth.
 */
export const handleDeviceDeath: MessageHandler<DeviceTopic> = (ctx) => {
  const { model, out, now, topic, node } = ctx;
  const device = node.devices.get(topic.device);
  if (node.status !== "online") {
    out.emit({ kind: "data-before-birth", ...scopeOf(node, topic.device), verb: "DDEATH" });
    model.policy.request(scopeOf(node), "unknown-node", now);
  }
  if (!device || device.status === "offline") {
    out.emit({
      kind: "protocol-warning",
      topic: ctx.message.topic,
      message: device ? "DDEATH for a device that is already offline" : "DDEATH for a device never born",
    });
    return;
  }
  const at = ctx.payload.timestamp ?? now;
  device.status = "offline";
  device.stale = true;
  device.awaitingBirth = false;
  device.diedAt = at;
  out.emit({ kind: "device-died", ...scopeOf(node, device.id), reason: "ddeath", at });
};
