import { type EnvRead, flag } from "./env-values.js";

/* The monitor pod's own settings (MONITOR_*), each read and checked by itself. */

/** Where the monitor serves its page and API unless MONITOR_HTTP_PORT says otherwise. */
export const MONITOR_DEFAULT_PORT = 8080;

export interface MonitorWill {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export interface MonitorFlags {
  httpPort?: string;
  httpHost?: string;
  allowCommands?: boolean;
}

interface PodSettings {
  httpPort: number;
  mqttVersion: 3 | 5;
  sessionExpirySeconds: number;
  will: MonitorWill | undefined;
  maxPayloadBytes: number;
}

function httpPort(env: NodeJS.ProcessEnv, flags: MonitorFlags): EnvRead<number> {
  const text = flags.httpPort ?? env.MONITOR_HTTP_PORT ?? String(MONITOR_DEFAULT_PORT);
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return { ok: false, error: `MONITOR_HTTP_PORT: expected a port number, got "${text}"` };
  return { ok: true, value: port };
}

function mqttVersion(env: NodeJS.ProcessEnv): EnvRead<3 | 5> {
  const text = env.MONITOR_MQTT_VERSION ?? "5";
  if (text !== "3" && text !== "5")
    return { ok: false, error: `MONITOR_MQTT_VERSION: expected 3 or 5, got "${text}"` };
  return { ok: true, value: text === "3" ? 3 : 5 };
}

function sessionExpirySeconds(env: NodeJS.ProcessEnv): EnvRead<number> {
  const text = env.MONITOR_SESSION_EXPIRY_SECONDS ?? "86400";
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 4294967295)
    return {
      ok: false,
      error: `MONITOR_SESSION_EXPIRY_SECONDS: expected a whole number of seconds, got "${text}"`,
    };
  return { ok: true, value: seconds };
}

function will(env: NodeJS.ProcessEnv): EnvRead<MonitorWill | undefined> {
  if (!env.MONITOR_WILL_TOPIC) return { ok: true, value: undefined };
  const qos = env.MONITOR_WILL_QOS ?? "1";
  if (qos !== "0" && qos !== "1")
    return { ok: false, error: `MONITOR_WILL_QOS: expected 0 or 1, got "${qos}"` };
  return {
    ok: true,
    value: {
      topic: env.MONITOR_WILL_TOPIC,
      payload: env.MONITOR_WILL_PAYLOAD ?? "",
      qos: qos === "1" ? 1 : 0,
      retain: flag(env.MONITOR_WILL_RETAIN),
    },
  };
}

function maxPayloadBytes(env: NodeJS.ProcessEnv): EnvRead<number> {
  const text = env.MONITOR_MAX_PAYLOAD_BYTES ?? String(16 * 1024 * 1024);
  const bytes = Number(text);
  if (!Number.isInteger(bytes) || bytes < 1024)
    return {
      ok: false,
      error: `MONITOR_MAX_PAYLOAD_BYTES: expected a whole number of bytes (at least 1024), got "${text}"`,
    };
  return { ok: true, value: bytes };
}

/** The settings that can be wrong, checked in this order (the first wrong one is the error). */
export function podSettings(env: NodeJS.ProcessEnv, flags: MonitorFlags): EnvRead<PodSettings> {
  const port = httpPort(env, flags);
  if (!port.ok) return port;
  const version = mqttVersion(env);
  if (!version.ok) return version;
  const expiry = sessionExpirySeconds(env);
  if (!expiry.ok) return expiry;
  const lastWill = will(env);
  if (!lastWill.ok) return lastWill;
  const max = maxPayloadBytes(env);
  if (!max.ok) return max;
  return {
    ok: true,
    value: {
      httpPort: port.value,
      mqttVersion: version.value,
      sessionExpirySeconds: expiry.value,
      will: lastWill.value,
      maxPayloadBytes: max.value,
    },
  };
}
