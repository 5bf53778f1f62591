import { defineMode } from "../mode.js";
import { hostIdOf, sparkplugDetails } from "./details.js";
import { SparkplugDiscoverer } from "./sparkplug-discoverer.js";

/** Sparkplug B discovery: edge nodes and devices from their births. */
export const sparkplugMode = defineMode({
  name: "sparkplug",
  details: sparkplugDetails,
  create: (details, { suffix, ...options }) =>
    new SparkplugDiscoverer(details, { ...options, hostId: hostIdOf(details.sparkplug, suffix) }),
  kindLabels: { "sparkplug-device": "device", "sparkplug-node": "node" },
  properties: {
    standard: ["SPARKPLUG_GROUP_ID", "SPARKPLUG_EDGE_NODE_ID", "SPARKPLUG_DEVICE_ID", "SPARKPLUG_DATA_TOPIC"],
    dataTopic: "SPARKPLUG_DATA_TOPIC",
  },
});
