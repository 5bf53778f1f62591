import type { IClientOptions } from "mqtt";

/*
 * Broker secrets from Akri `discoveryProperties` (values from Kubernetes Secrets):
 * MQTT_USERNAME, MQTT_PASSWORD, MQTT_CA_CERT, MQTT_CLIENT_CERT, MQTT_CLIENT_KEY (PEM).
 * Errors and warnings name the property, never its value.
 */

export interface BrokerCredentials {
  username?: string;
  password?: string;
  /** PEM: trusted CA certificate(s) for the broker. */
  ca?: string;
  /** PEM: client certificate and key for mutual TLS. */
  cert?: string;
  key?: string;
}

export type CredentialsResult =
  | { ok: true; credentials: BrokerCredentials; warnings: string[] }
  | { ok: false; error: string };

const NAMES = {
  MQTT_USERNAME: "username",
  MQTT_PASSWORD: "password",
  MQTT_CA_CERT: "ca",
  MQTT_CLIENT_CERT: "cert",
  MQTT_CLIENT_KEY: "key",
} as const;

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;

/**
 * Reads credentials from discoveryProperties (or the environment, for the CLI). Names
 * match case-insensitively; an absent value (`ByteData` without `vec`) counts as unset.
 */
export function parseBrokerCredentials(
  properties: Record<string, Uint8Array | string | undefined>,
): CredentialsResult {
  const credentials: BrokerCredentials = {};
  const warnings: string[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const key = NAMES[name.toUpperCase() as keyof typeof NAMES];
    if (key === undefined) {
      warnings.push(`unknown discoveryProperties entry ${name} is ignored`);
      continue;
    }
    if (raw === undefined) continue;
    const value = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
    if ((key === "ca" || key === "cert" || key === "key") && !PEM.test(value)) {
      return { ok: false, error: `${name.toUpperCase()}: expected a PEM block (-----BEGIN ...-----)` };
    }
    credentials[key] = value;
  }
  if ((credentials.cert === undefined) !== (credentials.key === undefined)) {
    return {
      ok: false,
      error:
        credentials.cert === undefined
          ? "MQTT_CLIENT_KEY: given without MQTT_CLIENT_CERT (mutual TLS needs both)"
          : "MQTT_CLIENT_CERT: given without MQTT_CLIENT_KEY (mutual TLS needs both)",
    };
  }
  if (credentials.password !== undefined && credentials.username === undefined) {
    warnings.push("MQTT_PASSWORD is set without MQTT_USERNAME; MQTT 3.1.1 brokers will refuse it");
  }
  return { ok: true, credentials, warnings };
}

/** Credentials for the command line, from the environment variables of the same names. */
export function credentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): CredentialsResult {
  const properties: Record<string, string> = {};
  for (const name of Object.keys(NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== "") properties[name] = value;
  }
  return parseBrokerCredentials(properties);
}
/**
 * The mqtt.js options that carry a broker's credentials: user name and password, the CA
 * that signs the broker's certificate, and our client certificate for mutual TLS. Every
 * command builds its connection from this one function, so none of them drops a secret.
 */
export function credentialOptions(credentials: BrokerCredentials): IClientOptions {
  const options: IClientOptions = { rejectUnauthorized: true };
  if (credentials.username !== undefined) options.username = credentials.username;
  if (credentials.password !== undefined) options.password = credentials.password;
  if (credentials.ca !== undefined) options.ca = credentials.ca;
  if (credentials.cert !== undefined) options.cert = credentials.cert;
  if (credentials.key !== undefined) options.key = credentials.key;
  return options;
}
