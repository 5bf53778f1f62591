import { entityId } from "../sparkplug/topic.js";
import type { EnvRead } from "./env-values.js";
import type { PropertyReader } from "./instance-properties.js";

/* The device this pod monitors, from the properties its discovery mode set (design.md §5). */

export type MonitoredDevice =
  | {
      mode: "sparkplug";
      /** The Akri device id: spBv1.0/<group>/<edge>[/<device>]. */
      id: string;
      group: string;
      edge: string;
      /** Absent for an edge-node instance. */
      device: string | undefined;
    }
  | {
      mode: "generic";
      id: string;
      /** The topic filter that covers this device's topics (MQTT_TOPIC). */
      topic: string;
    };

/** A Sparkplug edge node or device: its group and edge node (both or neither), and its device id. */
function sparkplugDevice(property: PropertyReader): EnvRead<MonitoredDevice> | undefined {
  const group = property("SPARKPLUG_GROUP_ID");
  const edge = property("SPARKPLUG_EDGE_NODE_ID");
  if (group === undefined && edge === undefined) return undefined;
  if (group === undefined || edge === undefined)
    return {
      ok: false,
      error: `${group === undefined ? "SPARKPLUG_GROUP_ID" : "SPARKPLUG_EDGE_NODE_ID"}: not set, but ${group === undefined ? "SPARKPLUG_EDGE_NODE_ID" : "SPARKPLUG_GROUP_ID"} is`,
    };
  const device = property("SPARKPLUG_DEVICE_ID");
  return { ok: true, value: { mode: "sparkplug", id: entityId(group, edge, device), group, edge, device } };
}

/** A generic device: its topic filter, and the id a deviceId template gave it (else the topic). */
function genericDevice(property: PropertyReader): EnvRead<MonitoredDevice> | undefined {
  const topic = property("MQTT_TOPIC");
  if (topic === undefined) return undefined;
  return { ok: true, value: { mode: "generic", id: property("MQTT_DEVICE_ID") ?? topic, topic } };
}

/** The monitored device, from the first mode whose properties are there. */
export function monitoredDevice(property: PropertyReader): EnvRead<MonitoredDevice> {
  return (
    sparkplugDevice(property) ??
    genericDevice(property) ?? {
      ok: false,
      error:
        "no device: expected SPARKPLUG_GROUP_ID and SPARKPLUG_EDGE_NODE_ID (Sparkplug) or MQTT_TOPIC (generic)",
    }
  );
}
