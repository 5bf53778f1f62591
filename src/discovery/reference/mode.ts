import { GenericDiscoverer } from "../generic/generic-discoverer.js";
import { defineMode } from "../mode.js";
import { type ReferenceDiscoveryDetails, referenceDetails } from "./details.js";

/*
 * The reference MQTT handler's Configurations (mqttBrokerUri, topics, timeoutSeconds), read
 * unchanged and run as generic discovery: a device per concrete topic while it publishes,
 * retained messages included, with that handler's two properties and none of ours, so a user
 * swaps the image and keeps the rest. Its messageRegexp is applied (that handler never did).
 */
export const referenceMode = defineMode({
  name: "reference",
  details: referenceDetails,
  create: (details) => new GenericDiscoverer(presenceOptions(details)),
  kindLabels: { topic: "topic" },
  properties: { standard: ["MQTT_TOPIC"], dataTopic: "MQTT_TOPIC" },
});

function presenceOptions(details: ReferenceDiscoveryDetails) {
  const prefix = details.propertyPrefix;
  return {
    topics: details.topics,
    idleTimeoutSeconds: details.timeoutSeconds,
    offlineGraceSeconds: details.offlineGraceSeconds,
    brokers: details.brokers.map((b) => b.uri),
    // Exactly that handler's: the topic, and the URI as written (less its credentials).
    properties: (id: string) => ({
      [`${prefix}MQTT_TOPIC`]: id,
      [`${prefix}MQTT_BROKER_URI`]: details.brokerUri,
    }),
    retained: "counts" as const,
    payloadFilter: details.messageRegexp,
  };
}
