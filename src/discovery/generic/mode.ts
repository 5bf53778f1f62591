import { brokerProperties } from "../broker-properties.js";
import { defineMode } from "../mode.js";
import { type GenericDiscoveryDetails, genericDetails } from "./details.js";
import { GenericDiscoverer } from "./generic-discoverer.js";
import type { PresenceOptions } from "./presence.js";

/** Generic discovery: a device per topic (or per id a deviceId template extracts) while it publishes. */
export const genericMode = defineMode({
  name: "generic",
  details: genericDetails,
  create: (details) => new GenericDiscoverer(presenceOptions(details)),
  kindLabels: { topic: "topic" },
  properties: { standard: ["MQTT_TOPIC", "MQTT_DEVICE_ID"], dataTopic: "MQTT_TOPIC" },
});

function presenceOptions(details: GenericDiscoveryDetails): PresenceOptions {
  const broker = brokerProperties(details.brokers);
  const several: Record<string, string> =
    broker.several === undefined
      ? {}
      : { MQTT_BROKER_URIS: broker.several.uris, MQTT_BROKER_NAMES: broker.several.names };
  return {
    topics: details.topics,
    deviceId: details.deviceId,
    idleTimeoutSeconds: details.idleTimeoutSeconds,
    offlineGraceSeconds: details.offlineGraceSeconds,
    brokers: details.brokers.map((b) => b.uri),
    properties: (id, filter) => ({
      MQTT_BROKER_URI: broker.uri,
      ...several,
      MQTT_TOPIC: filter,
      MQTT_DEVICE_ID: id,
    }),
    payloadFilter: details.payloadRegexp,
  };
}
