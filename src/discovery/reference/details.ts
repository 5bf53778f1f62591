import { z } from "zod";
import type { BrokerDetails, ModeDetails, ModeDetailsParser } from "../details.js";
import { topicFilters } from "../generic/details.js";
import { type PayloadFilter, payloadFilterKey } from "../payload-filter.js";

/*
 * The reference MQTT handler's discoveryDetails (suse-edge/akri-mqtt-discovery-handler,
 * src/discovery_handler.rs, MqttDiscoveryDetails), read unchanged: `mqttBrokerUri`, `topics`,
 * `timeoutSeconds`, `messageRegexp` and `propertiesPrefix`. Its keys are checked as that
 * handler's serde types check them (a URL, a list of filters, a whole number of seconds ≥ 0, a
 * regex), each refusal naming the key. Where that handler parses a URL option we do not
 * need, it is ignored with a warning; credentials in the URL are used, never shown.
 */

/**
 * The schemes rumqttc 0.22 takes from a URL, and their default ports. mqtts and ssl are TLS
 * (rustls, its default), as they are to mqtt.js, which the scheme tells.
 */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883 };

const brokerUri = z.string().superRefine((value, ctx) => {
  const problem = uriProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const referenceKeys = {
  mqttBrokerUri: brokerUri.optional(),
  topics: topicFilters,
  timeoutSeconds: z.number().int().min(0).optional(),
  messageRegexp: payloadFilterKey("messageRegexp"),
  propertiesPrefix: z.string().optional(),
};

interface ReferenceOwn {
  topics: string[];
  timeoutSeconds: number;
  messageRegexp: PayloadFilter | undefined;
  /** What each device's property names start with: `<PREFIX>_`, or nothing. */
  propertyPrefix: string;
  /** MQTT_BROKER_URI: mqttBrokerUri as the reference handler shows it, without its credentials. */
  brokerUri: string;
}

/** The reference handler's Configurations: a device per topic while it publishes. */
export type ReferenceDiscoveryDetails = ModeDetails<"reference", ReferenceOwn>;

export const referenceDetails: ModeDetailsParser<typeof referenceKeys, ReferenceOwn> = {
  keys: () => referenceKeys,
  impliedBy: "mqttBrokerUri",
  own: ({ mqttBrokerUri, topics, timeoutSeconds, messageRegexp, propertiesPrefix }) => {
    if (mqttBrokerUri === undefined)
      return { ok: false, error: "mqttBrokerUri: required (expected a URL like tcp://host:1883)" };
    if (topics === undefined || topics.length === 0)
      return { ok: false, error: "topics: required (expected a list of MQTT topic filters)" };
    if (timeoutSeconds === undefined)
      return {
        ok: false,
        error: "timeoutSeconds: required (expected a whole number of seconds a silent device stays listed)",
      };
    const shown = new URL(mqttBrokerUri);
    shown.username = "";
    shown.password = "";
    return {
      ok: true,
      value: {
        topics,
        timeoutSeconds,
        messageRegexp,
        propertyPrefix: propertyPrefix(propertiesPrefix),
        brokerUri: shown.href,
      },
    };
  },
  brokers: {
    key: "mqttBrokerUri",
    of: ({ mqttBrokerUri }) => {
      if (mqttBrokerUri === undefined) return { ok: false, error: "mqttBrokerUri: required" };
      return { ok: true, value: brokerOf(mqttBrokerUri) };
    },
  },
};

/**
 * As the reference handler's discovery_properties: the prefix gets a `_` unless it ends with
 * one, and the whole is upper-cased (ASCII letters only, as Rust's to_ascii_uppercase).
 */
function propertyPrefix(prefix: string | undefined): string {
  if (prefix === undefined) return "";
  const joined = prefix.endsWith("_") ? prefix : `${prefix}_`;
  return joined.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

function uriProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Whatever sits before an @ may be a password: it is not echoed.
    return `expected a URL like tcp://host:1883, got ${JSON.stringify(value.replace(/\/\/.*@/, "//***@"))}`;
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (DEFAULT_PORTS[scheme] === undefined)
    return `scheme must be one of ${Object.keys(DEFAULT_PORTS).join(", ")}, got ${JSON.stringify(scheme)}`;
  if (url.hostname === "") return "no host in the URL";
  return undefined;
}

/** The broker a checked mqttBrokerUri names: its one URL with the port made explicit, and its login. */
function brokerOf(value: string): { brokers: BrokerDetails[]; warnings: string[] } {
  const url = new URL(value);
  const scheme = url.protocol.replace(/:$/, "");
  const serverUrl = `${scheme}://${url.hostname}:${url.port || DEFAULT_PORTS[scheme]!}`;
  const broker: BrokerDetails = { name: undefined, serverUrls: [serverUrl], uri: serverUrl };
  const warnings: string[] = [];
  // rumqttc reads a user name (and a password, if any) from the URL; a password alone, not.
  if (url.username !== "") {
    const username = decodeURIComponent(url.username);
    broker.login =
      url.password === "" ? { username } : { username, password: decodeURIComponent(url.password) };
    warnings.push(
      "mqttBrokerUri: the user name and password in the URL are used, and left out of MQTT_BROKER_URI; they belong in discoveryProperties (mqtt_broker_username, mqtt_broker_password from a Secret)",
    );
  }
  const options = [...new Set(url.searchParams.keys())];
  if (options.length > 0)
    warnings.push(
      `mqttBrokerUri: ${options.join(", ")} ignored: akri-mqtt connects as <clientId>-<node> (clientId), with its own keep-alive and limits`,
    );
  return { brokers: [broker], warnings };
}
