import {
  type BrokerCredentials,
  credentialsForSuffixes,
  credentialsFromEnvironment,
} from "../mqtt/credentials.js";
import type { EnvRead } from "./env-values.js";
import type { PropertyReader } from "./instance-properties.js";

/*
 * The brokers the monitored device is on, from its broker properties (MQTT_BROKER_URI and,
 * with several brokers, MQTT_BROKER_URIS and MQTT_BROKER_NAMES), and each one's secrets
 * (MQTT_USERNAME, …, from a Kubernetes Secret in the pod spec).
 */

export interface MonitoredBrokers {
  /** The device's broker (MQTT_BROKER_URI): its failover URLs. */
  serverUrls: string[];
  /** Every broker to follow the device across (MQTT_BROKER_URIS), else only the device's own. */
  brokers: string[][];
}

function badUrl(urls: readonly string[]): string | undefined {
  for (const url of urls) {
    try {
      new URL(url);
    } catch {
      return url;
    }
  }
  return undefined;
}

/** The device's broker and every broker to follow it across. */
export function monitoredBrokers(property: PropertyReader): EnvRead<MonitoredBrokers> {
  const brokerUri = property("MQTT_BROKER_URI");
  if (brokerUri === undefined)
    return {
      ok: false,
      error:
        "MQTT_BROKER_URI: not set. The monitor runs as an Akri broker pod and reads the device's properties from the environment (MQTT_BROKER_URI, SPARKPLUG_GROUP_ID, … or MQTT_TOPIC)",
    };
  const serverUrls = brokerUri
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  const badOne = badUrl(serverUrls);
  if (badOne !== undefined)
    return { ok: false, error: `MQTT_BROKER_URI: expected comma-separated broker URLs, got "${badOne}"` };
  const allBrokers = property("MQTT_BROKER_URIS");
  const brokers =
    allBrokers === undefined
      ? [serverUrls]
      : allBrokers
          .split(/\s+/)
          .filter((b) => b !== "")
          .map((b) => b.split(",").filter((u) => u !== ""));
  const badAll = badUrl(brokers.flat());
  if (badAll !== undefined)
    return {
      ok: false,
      error: `MQTT_BROKER_URIS: expected brokers separated by spaces, each comma-separated URLs, got "${badAll}"`,
    };
  return { ok: true, value: { serverUrls, brokers } };
}

/**
 * Each broker's credentials, in the order of `brokers`. With several brokers, a broker's own
 * secrets are suffixed with its name, as the handler takes them (MQTT_BROKER_NAMES, in the
 * order of MQTT_BROKER_URIS), or with its position (MQTT_PASSWORD_1, MQTT_PASSWORD_2, ...;
 * also what older handlers' monitors read). By name wins: reordering `brokers` then never
 * swaps passwords.
 */
export function brokerCredentials(
  env: NodeJS.ProcessEnv,
  property: PropertyReader,
  brokers: readonly string[][],
): EnvRead<{ credentials: BrokerCredentials[]; warnings: string[] }> {
  const namesText = property("MQTT_BROKER_NAMES");
  const names = namesText === undefined ? [] : namesText.split(/\s+/).filter((n) => n !== "");
  if (names.length > 0 && names.length !== brokers.length)
    return {
      ok: false,
      error: `MQTT_BROKER_NAMES: expected one name per broker of MQTT_BROKER_URIS (${brokers.length}), got ${names.length}`,
    };
  const suffixesOf = (i: number): string[] =>
    brokers.length > 1 ? [...(names[i] !== undefined ? [names[i]!.toUpperCase()] : []), String(i + 1)] : [];
  const suffixes = [...new Set(brokers.flatMap((_, i) => suffixesOf(i)))];
  const parsed = credentialsFromEnvironment(env, suffixes);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const credentials: BrokerCredentials[] = [];
  for (const [i] of brokers.entries()) {
    const own = credentialsForSuffixes(parsed, suffixesOf(i));
    if (!own.ok) return { ok: false, error: own.error };
    credentials.push(own.credentials);
  }
  return { ok: true, value: { credentials, warnings: parsed.warnings } };
}
