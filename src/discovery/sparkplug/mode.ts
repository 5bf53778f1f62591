import { defineMode } from "../mode.js";
import { hostIdOf, sparkplugDetails } from "./details.js";
import { SparkplugDiscoverer } from "./sparkplug-discoverer.js";
import { SparkplugHost, sharedHostSettings } from "./sparkplug-host.js";

/** Sparkplug B discovery: edge nodes and devices from their births. */
export const sparkplugMode = defineMode({
  name: "sparkplug",
  details: sparkplugDetails,
  create: (details, { suffix, ...options }) =>
    new SparkplugDiscoverer(details, { ...options, hostId: hostIdOf(details.sparkplug, suffix) }),
  // One host session per STATE host id (and brokers): two would be two hosts under one name.
  share: {
    ownKey: "sparkplug.hostId",
    key: (details, { suffix }) => hostIdOf(details.sparkplug, suffix),
    settings: sharedHostSettings,
    reader: (details, { suffix, ...options }) =>
      new SparkplugHost(details, { ...options, hostId: hostIdOf(details.sparkplug, suffix) }),
  },
  kindLabels: { "sparkplug-device": "device", "sparkplug-node": "node" },
  properties: {
    standard: ["SPARKPLUG_GROUP_ID", "SPARKPLUG_EDGE_NODE_ID", "SPARKPLUG_DEVICE_ID", "SPARKPLUG_DATA_TOPIC"],
    dataTopic: "SPARKPLUG_DATA_TOPIC",
  },
});
