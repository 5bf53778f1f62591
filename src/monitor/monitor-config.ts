import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { hostList } from "../http/host-header.js";
import type { BrokerCredentials } from "../mqtt/credentials.js";
import { CERTIFICATES_PREFIX, edgeTopic } from "../sparkplug/topic.js";
import { flag } from "./env-values.js";
import { instanceProperties } from "./instance-properties.js";
import { brokerCredentials, monitoredBrokers } from "./monitored-brokers.js";
import { type MonitoredDevice, monitoredDevice } from "./monitored-device.js";
import { type MonitorFlags, type MonitorWill, podSettings } from "./pod-settings.js";

/*
 * The monitor is configured by what Akri gives a broker pod: the device's properties as
 * environment variables (design.md §5), each both as KEY and as KEY_<HASH> (the instance's
 * 6-hex hash, upper-case), plus the pod's own settings (MONITOR_*) and broker secrets
 * (MQTT_USERNAME, …, from a Kubernetes Secret in the pod spec). Nothing else is needed.
 */

export type { MonitoredDevice } from "./monitored-device.js";
export { MONITOR_DEFAULT_PORT, type MonitorFlags } from "./pod-settings.js";

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

export type MonitorConfigResult =
  | { ok: true; config: MonitorConfig; warnings: string[] }
  | { ok: false; error: string };

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 100);
}

/**
 * Reads the monitor's configuration; errors name the variable and what was expected. In
 * order: the instance, its brokers, its device, the pod's settings, the brokers' secrets.
 */
export function monitorConfig(env: NodeJS.ProcessEnv, flags: MonitorFlags = {}): MonitorConfigResult {
  const instance = instanceProperties(env);
  if (!instance.ok) return instance;
  const { hash, property } = instance.value;
  const brokers = monitoredBrokers(property);
  if (!brokers.ok) return brokers;
  const device = monitoredDevice(property);
  if (!device.ok) return device;
  const settings = podSettings(env, flags);
  if (!settings.ok) return settings;
  const secrets = brokerCredentials(env, property, brokers.value.brokers);
  if (!secrets.ok) return secrets;
  const { httpPort, mqttVersion, sessionExpirySeconds, will, maxPayloadBytes } = settings.value;
  // Stable across container restarts (same pod name), so the persistent session is found again.
  const pod = env.HOSTNAME || hostname() || "monitor";
  const clientId = env.MONITOR_CLIENT_ID || `akri-mqtt-monitor-${safeName(pod)}`;
  return {
    ok: true,
    warnings: secrets.value.warnings,
    config: {
      device: device.value,
      serverUrls: brokers.value.serverUrls,
      brokers: brokers.value.brokers,
      instanceHash: hash,
      clientId,
      mqttVersion,
      credentials: secrets.value.credentials,
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
