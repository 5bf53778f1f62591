import type { IClientOptions } from "mqtt";

/*
 * Broker secrets from Akri `discoveryProperties` (values from Kubernetes Secrets):
 * MQTT_USERNAME, MQTT_PASSWORD, MQTT_CA_CERT, MQTT_CLIENT_CERT, MQTT_CLIENT_KEY (PEM). With
 * several brokers, a name suffixed with a broker's name (MQTT_PASSWORD_SITE_B, or by position,
 * MQTT_PASSWORD_2) is that broker's own and wins over the unsuffixed one, which every broker
 * gets. The reference MQTT handler's names (mqtt_broker_username, mqtt_broker_password,
 * mqtt_broker_ca, mqtt_broker_certificate, mqtt_broker_key) are read as ours, so its
 * Configurations work unchanged. Errors and warnings name the property, never its value.
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
  | {
      ok: true;
      /** What every broker gets (the unsuffixed names). */
      credentials: BrokerCredentials;
      /** Each named broker's own, merged over the shared ones. */
      byBroker: ReadonlyMap<string, BrokerCredentials>;
      /** Each named broker's own alone (only what its suffixed names set). */
      own: ReadonlyMap<string, BrokerCredentials>;
      warnings: string[];
    }
  | { ok: false; error: string };

const NAMES = {
  MQTT_USERNAME: "username",
  MQTT_PASSWORD: "password",
  MQTT_CA_CERT: "ca",
  MQTT_CLIENT_CERT: "cert",
  MQTT_CLIENT_KEY: "key",
  // suse-edge/akri-mqtt-discovery-handler, src/discovery_handler.rs (authenticate_mqtt, setup_tls).
  MQTT_BROKER_USERNAME: "username",
  MQTT_BROKER_PASSWORD: "password",
  MQTT_BROKER_CA: "ca",
  MQTT_BROKER_CERTIFICATE: "cert",
  MQTT_BROKER_KEY: "key",
} as const;

type PropertyName = keyof typeof NAMES;

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;

/** The credential a property name sets, and for which broker (undefined: every broker). */
function nameOf(
  property: string,
  brokers: readonly string[],
): { key: (typeof NAMES)[PropertyName]; broker: string | undefined } | undefined {
  const upper = property.toUpperCase();
  const exact = NAMES[upper as PropertyName];
  if (exact !== undefined) return { key: exact, broker: undefined };
  for (const [base, key] of Object.entries(NAMES)) {
    if (!upper.startsWith(`${base}_`)) continue;
    const broker = upper.slice(base.length + 1);
    if (brokers.includes(broker)) return { key, broker };
  }
  return undefined;
}

/** Why a broker's credentials cannot be used, naming the properties (`suffix`: "_<broker>" or ""). */
function problemOf(credentials: BrokerCredentials, suffix: string): string | undefined {
  if ((credentials.cert === undefined) === (credentials.key === undefined)) return undefined;
  return credentials.cert === undefined
    ? `MQTT_CLIENT_KEY${suffix}: given without MQTT_CLIENT_CERT${suffix} (mutual TLS needs both)`
    : `MQTT_CLIENT_CERT${suffix}: given without MQTT_CLIENT_KEY${suffix} (mutual TLS needs both)`;
}

/**
 * Reads credentials from discoveryProperties (or the environment, for the CLI), for the
 * brokers named `brokers` (upper-case). Names match case-insensitively; an absent value
 * (`ByteData` without `vec`) counts as unset.
 */
export function parseBrokerCredentials(
  properties: Record<string, Uint8Array | string | undefined>,
  brokers: readonly string[] = [],
): CredentialsResult {
  const credentials: BrokerCredentials = {};
  const own = new Map<string, BrokerCredentials>(brokers.map((b) => [b, {}]));
  const warnings: string[] = [];
  /** Which property set each credential, so that two names for one (ours and the reference's) must agree. */
  const setBy = new Map<string, { name: string; value: string }>();
  for (const [name, raw] of Object.entries(properties)) {
    const named = nameOf(name, brokers);
    if (named === undefined) {
      warnings.push(`unknown discoveryProperties entry ${name} is ignored`);
      continue;
    }
    if (raw === undefined) continue;
    const value = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
    const { key, broker } = named;
    if ((key === "ca" || key === "cert" || key === "key") && !PEM.test(value)) {
      return { ok: false, error: `${name.toUpperCase()}: expected a PEM block (-----BEGIN ...-----)` };
    }
    const slot = `${broker ?? ""}/${key}`;
    const earlier = setBy.get(slot);
    if (earlier !== undefined && earlier.value !== value)
      return {
        ok: false,
        error: `${name.toUpperCase()}: differs from ${earlier.name.toUpperCase()}; give one`,
      };
    setBy.set(slot, { name, value });
    (broker === undefined ? credentials : own.get(broker)!)[key] = value;
  }
  const problem = problemOf(credentials, "");
  if (problem !== undefined && brokers.length === 0) return { ok: false, error: problem };
  const byBroker = new Map<string, BrokerCredentials>();
  for (const broker of own.keys()) {
    const merged = mergeOwn(credentials, own, [broker]);
    if (!merged.ok) return merged;
    byBroker.set(broker, merged.credentials);
  }
  const sets = brokers.length === 0 ? [credentials] : [...byBroker.values()];
  if (sets.some((c) => c.password !== undefined && c.username === undefined)) {
    warnings.push("MQTT_PASSWORD is set without MQTT_USERNAME; MQTT 3.1.1 brokers will refuse it");
  }
  return { ok: true, credentials, byBroker, own, warnings };
}

/**
 * One broker's credentials when it answers to several suffixes (the device monitor knows a
 * broker by name and by position): the shared ones, overridden by each suffix's own in the
 * order given, the first winning. Fails like the handler when a certificate lacks its key.
 */
export function credentialsForSuffixes(
  result: Extract<CredentialsResult, { ok: true }>,
  suffixes: readonly string[],
): MergedCredentials {
  return mergeOwn(result.credentials, result.own, suffixes);
}

type MergedCredentials = { ok: true; credentials: BrokerCredentials } | { ok: false; error: string };

/**
 * The shared credentials overridden by each suffix's own, the first suffix winning; an error
 * names the suffixed properties when a certificate comes without its key.
 */
function mergeOwn(
  shared: BrokerCredentials,
  own: ReadonlyMap<string, BrokerCredentials>,
  suffixes: readonly string[],
): MergedCredentials {
  const merged: BrokerCredentials = { ...shared };
  let from = "";
  for (const suffix of [...suffixes].reverse()) {
    const specific = own.get(suffix);
    if (specific === undefined || Object.keys(specific).length === 0) continue;
    Object.assign(merged, specific);
    from = `_${suffix}`;
  }
  const problem = problemOf(merged, from);
  return problem === undefined ? { ok: true, credentials: merged } : { ok: false, error: problem };
}

/** Credentials for the command line, from the environment variables of the same names. */
export function credentialsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  brokers: readonly string[] = [],
): CredentialsResult {
  const properties: Record<string, string> = {};
  for (const base of Object.keys(NAMES)) {
    for (const name of [base, ...brokers.map((b) => `${base}_${b}`)]) {
      const value = env[name];
      if (value !== undefined && value !== "") properties[name] = value;
    }
  }
  return parseBrokerCredentials(properties, brokers);
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
