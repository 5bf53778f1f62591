import { defineMode } from "../mode.js";
import { genericDetails } from "./details.js";
import { GenericDiscoverer } from "./generic-discoverer.js";

/** Generic discovery: a device per topic (or per id a deviceId template extracts) while it publishes. */
export const genericMode = defineMode({
  name: "generic",
  details: genericDetails,
  create: (details) => new GenericDiscoverer(details),
  kindLabels: { topic: "topic" },
  properties: { standard: ["MQTT_TOPIC", "MQTT_DEVICE_ID"], dataTopic: "MQTT_TOPIC" },
});
