import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { hostList } from "../http/host-header.js";
import {
  type BrokerCredentials,
  credentialsForSuffixes,
  credentialsFromEnvironment,
} from "../mqtt/credentials.js";
import { CERTIFICATES_PREFIX, edgeTopic, entityId } from "../sparkplug/topic.js";

/*
 * The monitor is configured by what Akri gives a broker pod: the device's properties as
 * environment variables (design.md §5), each both as KEY and as KEY_<HASH> (the instance's
 * 6-hex hash, upper-case), plus the pod's own settings (MONITOR_*) and broker secrets
 * (MQTT_USERNAME, …, from a Kubernetes Secret in the pod spec). Nothing else is needed.
 */

/** Where the monitor serves its page and API unless MONITOR_HTTP_PORT says otherwise. */
export const MONITOR_DEFAULT_PORT = 8080;

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

interface MonitorWill {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export interface MonitorConfig {
  device: MonitoredDevice;
  /** The device's broker (MQTT_BROKER_URI): its failover URLs. */
  serverUrls: string[];
  /**
   * Every broker to follow the device across (MQTT_BROKER_URIS, when discovery lists several:
   * a Sparkplug node moves between them); else only the device's own.
   */
  brokers: string[][];
  /** The instance hash whose properties were used, when they came suffixed. */
  instanceHash: string | undefined;
  clientId: string;
  mqttVersion: 3 | 5;
  /**
   * Each broker's credentials, in the order of `brokers`: the unsuffixed MQTT_* secrets, with
   * several brokers overridden by a broker's own: by its name in MQTT_BROKER_NAMES
   * (MQTT_PASSWORD_SITE_B, as the handler reads discoveryProperties), else by its position
   * (MQTT_PASSWORD_2 for the second).
   */
  credentials: BrokerCredentials[];
  httpHost: string;
  httpPort: number;
  /** POST /command is refused unless this is set (MONITOR_ALLOW_COMMANDS=true). */
  allowCommands: boolean;
  /** When set, POST /command also needs `Authorization: Bearer <token>` (MONITOR_COMMAND_TOKEN). */
  commandToken: string | undefined;
  /** Host names POST /command accepts besides IPs, localhost and cluster names (MONITOR_ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** Larger messages are counted and skipped (MONITOR_MAX_PAYLOAD_BYTES). */
  maxPayloadBytes: number;
  /** Where the last births are kept, to decode DATA queued while the monitor was down. */
  stateDir: string;
  will: MonitorWill | undefined;
  /** Seconds the broker keeps the persistent session while the monitor is away. */
  sessionExpirySeconds: number;
}

export interface MonitorFlags {
  httpPort?: string;
  httpHost?: string;
  allowCommands?: boolean;
}

export type MonitorConfigResult =
  | { ok: true; config: MonitorConfig; warnings: string[] }
  | { ok: false; error: string };

const HASH = /^[0-9A-F]{6}$/;

/** The instance hashes present in the environment (from the suffixed MQTT_BROKER_URI_<HASH>). */
function instanceHashes(env: NodeJS.ProcessEnv): string[] {
  const hashes = new Set<string>();
  for (const key of Object.keys(env)) {
    const match = /^MQTT_BROKER_URI_([0-9A-F]{6})$/.exec(key);
    if (match) hashes.add(match[1]!);
  }
  return [...hashes].sort();
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 100);
}

function flag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/** Reads the monitor's configuration; errors name the variable and what was expected. */
export function monitorConfig(env: NodeJS.ProcessEnv, flags: MonitorFlags = {}): MonitorConfigResult {
  const warnings: string[] = [];
  const hashes = instanceHashes(env);
  let hash: string | undefined;
  const chosen = env.MONITOR_INSTANCE?.trim().toUpperCase();
  if (chosen) {
    if (!HASH.test(chosen))
      return { ok: false, error: `MONITOR_INSTANCE: expected the 6-hex instance hash, got "${chosen}"` };
    if (!hashes.includes(chosen))
      return {
        ok: false,
        error: `MONITOR_INSTANCE: no properties for instance ${chosen} (found: ${hashes.join(", ") || "none"})`,
      };
    hash = chosen;
  } else if (hashes.length > 1) {
    return {
      ok: false,
      error: `this pod was given several Akri instances (${hashes.join(", ")}): set MONITOR_INSTANCE to the one to monitor`,
    };
  } else {
    hash = hashes[0];
  }
  // The suffixed form is the instance's own; the plain one can be overwritten by another
  // instance, so once the instance is known only its own (suffixed) properties count.
  const property = (key: string): string | undefined => {
    const value = hash !== undefined ? env[`${key}_${hash}`] : env[key];
    return value === undefined || value === "" ? undefined : value;
  };

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
  for (const url of serverUrls) {
    try {
      new URL(url);
    } catch {
      return { ok: false, error: `MQTT_BROKER_URI: expected comma-separated broker URLs, got "${url}"` };
    }
  }
  const allBrokers = property("MQTT_BROKER_URIS");
  const brokers =
    allBrokers === undefined
      ? [serverUrls]
      : allBrokers
          .split(/\s+/)
          .filter((b) => b !== "")
          .map((b) => b.split(",").filter((u) => u !== ""));
  for (const url of brokers.flat()) {
    try {
      new URL(url);
    } catch {
      return {
        ok: false,
        error: `MQTT_BROKER_URIS: expected brokers separated by spaces, each comma-separated URLs, got "${url}"`,
      };
    }
  }

  let device: MonitoredDevice;
  const group = property("SPARKPLUG_GROUP_ID");
  const edge = property("SPARKPLUG_EDGE_NODE_ID");
  const topic = property("MQTT_TOPIC");
  if (group !== undefined || edge !== undefined) {
    if (group === undefined || edge === undefined)
      return {
        ok: false,
        error: `${group === undefined ? "SPARKPLUG_GROUP_ID" : "SPARKPLUG_EDGE_NODE_ID"}: not set, but ${group === undefined ? "SPARKPLUG_EDGE_NODE_ID" : "SPARKPLUG_GROUP_ID"} is`,
      };
    const deviceId = property("SPARKPLUG_DEVICE_ID");
    device = {
      mode: "sparkplug",
      id: entityId(group, edge, deviceId),
      group,
      edge,
      device: deviceId,
    };
  } else if (topic !== undefined) {
    device = { mode: "generic", id: property("MQTT_DEVICE_ID") ?? topic, topic };
  } else {
    return {
      ok: false,
      error:
        "no device: expected SPARKPLUG_GROUP_ID and SPARKPLUG_EDGE_NODE_ID (Sparkplug) or MQTT_TOPIC (generic)",
    };
  }

  const portText = flags.httpPort ?? env.MONITOR_HTTP_PORT ?? String(MONITOR_DEFAULT_PORT);
  const httpPort = Number(portText);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535)
    return { ok: false, error: `MONITOR_HTTP_PORT: expected a port number, got "${portText}"` };
  const versionText = env.MONITOR_MQTT_VERSION ?? "5";
  if (versionText !== "3" && versionText !== "5")
    return { ok: false, error: `MONITOR_MQTT_VERSION: expected 3 or 5, got "${versionText}"` };
  const expiryText = env.MONITOR_SESSION_EXPIRY_SECONDS ?? "86400";
  const sessionExpirySeconds = Number(expiryText);
  if (
    !Number.isInteger(sessionExpirySeconds) ||
    sessionExpirySeconds < 1 ||
    sessionExpirySeconds > 4294967295
  )
    return {
      ok: false,
      error: `MONITOR_SESSION_EXPIRY_SECONDS: expected a whole number of seconds, got "${expiryText}"`,
    };

  let will: MonitorWill | undefined;
  if (env.MONITOR_WILL_TOPIC) {
    const qos = env.MONITOR_WILL_QOS ?? "1";
    if (qos !== "0" && qos !== "1")
      return { ok: false, error: `MONITOR_WILL_QOS: expected 0 or 1, got "${qos}"` };
    will = {
      topic: env.MONITOR_WILL_TOPIC,
      payload: env.MONITOR_WILL_PAYLOAD ?? "",
      qos: qos === "1" ? 1 : 0,
      retain: flag(env.MONITOR_WILL_RETAIN),
    };
  }

  const maxText = env.MONITOR_MAX_PAYLOAD_BYTES ?? String(16 * 1024 * 1024);
  const maxPayloadBytes = Number(maxText);
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1024)
    return {
      ok: false,
      error: `MONITOR_MAX_PAYLOAD_BYTES: expected a whole number of bytes (at least 1024), got "${maxText}"`,
    };

  // With several brokers, a broker's own secrets are suffixed with its name, as the handler
  // takes them (MQTT_BROKER_NAMES, in the order of MQTT_BROKER_URIS), or with its position
  // (MQTT_PASSWORD_1, MQTT_PASSWORD_2, ...; also what older handlers' monitors read). By name
  // wins: reordering `brokers` then never swaps passwords.
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
  warnings.push(...parsed.warnings);
  const credentials: BrokerCredentials[] = [];
  for (const [i] of brokers.entries()) {
    const own = credentialsForSuffixes(parsed, suffixesOf(i));
    if (!own.ok) return { ok: false, error: own.error };
    credentials.push(own.credentials);
  }

  // Stable across container restarts (same pod name), so the persistent session is found again.
  const pod = env.HOSTNAME || hostname() || "monitor";
  const clientId = env.MONITOR_CLIENT_ID || `akri-mqtt-monitor-${safeName(pod)}`;
  return {
    ok: true,
    warnings,
    config: {
      device,
      serverUrls,
      brokers,
      instanceHash: hash,
      clientId,
      mqttVersion: versionText === "3" ? 3 : 5,
      credentials,
      httpHost: flags.httpHost ?? env.MONITOR_HTTP_HOST ?? "0.0.0.0",
      httpPort,
      allowCommands: flags.allowCommands === true || flag(env.MONITOR_ALLOW_COMMANDS),
      commandToken: env.MONITOR_COMMAND_TOKEN || undefined,
      allowedHosts: hostList(env.MONITOR_ALLOWED_HOSTS),
      maxPayloadBytes,
      stateDir: env.MONITOR_STATE_DIR || join(tmpdir(), "akri-mqtt-monitor", safeName(clientId)),
      will,
      sessionExpirySeconds,
    },
  };
}

/** The MQTT topic filters for the monitored device, with QoS 1. */
export function monitorSubscriptions(device: MonitoredDevice): string[] {
  if (device.mode === "generic") return [device.topic];
  const { group, edge } = device;
  // NCMD too: a rebirth another monitor (or host) just asked for counts as ours.
  const node = [
    edgeTopic("NBIRTH", group, edge),
    edgeTopic("NDEATH", group, edge),
    edgeTopic("NCMD", group, edge),
  ];
  const certificates = [`${CERTIFICATES_PREFIX}${edgeTopic("NBIRTH", group, edge)}`];
  if (device.device === undefined) return [...node, edgeTopic("NDATA", group, edge), ...certificates];
  const d = device.device;
  return [
    ...node,
    edgeTopic("DBIRTH", group, edge, d),
    edgeTopic("DDATA", group, edge, d),
    edgeTopic("DDEATH", group, edge, d),
    ...certificates,
    `${CERTIFICATES_PREFIX}${edgeTopic("DBIRTH", group, edge, d)}`,
  ];
}
