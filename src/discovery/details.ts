import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssue, describeValue, type KnownKeys, unknownKeys } from "./details-issues.js";

/*
 * `discoveryDetails` (design.md §4): the one place where a Configuration's YAML is parsed
 * and validated. This file knows the keys every mode has (where the brokers are, who we are
 * on them, how lists behave) and `mode`; each mode brings its own keys and their checks
 * (discovery/<mode>/details.ts), as each of Akri's handlers declares its own details struct.
 * Errors name the key and what was expected; unknown keys are warnings (Akri convention:
 * ignored, but a typo should not go unnoticed); secrets are refused here and come from
 * `discoveryProperties` instead (see mqtt/credentials.ts).
 */

const PROTOCOLS = ["tcp", "mqtt", "ssl", "mqtts", "ws", "wss"];

const serverUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: "custom",
      // Whatever sits before an @ may be a password: it is not echoed.
      message: `expected a URL like tcp://host:1883, got ${JSON.stringify(value.replace(/\/\/.*@/, "//***@"))}`,
    });
    return;
  }
  const protocol = url.protocol.replace(/:$/, "");
  if (!PROTOCOLS.includes(protocol)) {
    ctx.addIssue({
      code: "custom",
      message: `scheme must be one of ${PROTOCOLS.join(", ")}, got ${JSON.stringify(protocol)}`,
    });
  } else if (url.hostname === "") {
    ctx.addIssue({ code: "custom", message: `no host in ${JSON.stringify(value)}` });
  } else if (url.username !== "" || url.password !== "") {
    ctx.addIssue({
      code: "custom",
      message:
        "credentials must not be in the URL: give them as the MQTT_USERNAME / MQTT_PASSWORD discoveryProperties",
    });
  }
});

const serverUrls = z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(serverUrl).min(1));

const brokerSchema = z.object({
  serverUrls,
  /** Names the broker's own secrets (MQTT_PASSWORD_<NAME>); default: its position, 1, 2, … */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/, { message: "expected letters, digits and _ (it names discoveryProperties)" })
    .optional(),
});

/** The brokers: one (serverUrls) or several (brokers). */
const brokerKeys = {
  serverUrls: serverUrls.optional(),
  brokers: z.array(brokerSchema).min(1).optional(),
};

/** Who we are on the brokers, and how long a device they lose stays listed. */
const identityKeys = {
  clientId: z.string().min(1).max(200).default("akri-mqtt"),
  mqttVersion: z.union([z.literal(3), z.literal(5)]).default(5),
  offlineGraceSeconds: z.number().min(0).default(0),
};

/** How lists are made and shown, whatever the mode. */
const listKeys = {
  /** Larger messages are counted and skipped, never decoded (a 3.0 birth of 100,000 metrics is ~5 MB). */
  maxPayloadBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  /** The Akri Configuration's name, when given: only used to show instance names. */
  configurationName: z.string().min(1).optional(),
  /**
   * Who may read this Configuration's stream on the handler's fleet page, /devices and
   * /events: the pod's own loopback only (kubectl port-forward), or any client that reaches
   * the pod. Here because Akri's chart lets an operator set discoveryDetails, and not the
   * handler's arguments or environment.
   */
  inventoryAccess: z.enum(["loopback", "cluster"]).default("loopback"),
};

/** Who may read a stream's plant inventory: the pod's own loopback, or anyone who reaches the pod. */
export type InventoryAccess = z.infer<typeof listKeys.inventoryAccess>;

/**
 * One broker: its URLs are failover listeners of that one broker, tried in order. Several
 * brokers are independent servers (Sparkplug's server sets), all connected at once.
 */
export interface BrokerDetails {
  /** What its own secrets are suffixed with (MQTT_PASSWORD_<NAME>); undefined for the only broker of serverUrls. */
  name: string | undefined;
  serverUrls: string[];
  /** Its serverUrls, comma-joined: the broker's identity (and MQTT_BROKER_URI when it is the first). */
  uri: string;
  /**
   * A user name and password written in the broker's URL: only a mode that reads another
   * handler's Configurations unchanged accepts them (the reference handler's mqttBrokerUri).
   * discoveryProperties win over them; they are never shown, logged or put in properties.
   */
  login?: { username: string; password?: string };
}

type Common = z.infer<z.ZodObject<typeof brokerKeys & typeof identityKeys & typeof listKeys>>;

/** What every mode has: where the brokers are, who we are on them, and how lists behave. */
type CommonDetails = Pick<
  Common,
  | "clientId"
  | "mqttVersion"
  | "offlineGraceSeconds"
  | "maxPayloadBytes"
  | "configurationName"
  | "inventoryAccess"
> & {
  /** The brokers, from `serverUrls` (one) or `brokers` (several). */
  brokers: BrokerDetails[];
};

/** A mode's details: the common ones, its name, and its own. */
export type ModeDetails<Name extends string = string, Own extends object = object> = CommonDetails & {
  mode: Name;
} & Own;

/** A parse that failed says what is wrong, naming the key. */
type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a mode brings to discoveryDetails: its own keys, and how they become its details. */
export interface ModeDetailsParser<Shape extends z.ZodRawShape = z.ZodRawShape, Own extends object = object> {
  /**
   * Its top-level keys with their schemas. `reserved`: the property names discovery sets
   * itself, in any mode (a mode that maps properties refuses them).
   */
  keys(reserved: ReadonlySet<string>): Shape;
  /** Its nested keys by dotted path ("sparkplug.rebirth"), for the unknown-key warnings. */
  known?: Record<string, readonly string[]>;
  /** A key of its own whose presence chooses this mode when `mode` is not given. */
  impliedBy?: string;
  /** Its own details from its parsed keys (checks across keys go here). */
  own(parsed: z.infer<z.ZodObject<Shape>>): Parsed<Own>;
  /**
   * Its broker from a key of its own, for a mode that reads another handler's Configurations
   * unchanged (then `serverUrls` and `brokers` are refused beside it). `key`: that key's name.
   */
  brokers?: {
    key: string;
    of(parsed: z.infer<z.ZodObject<Shape>>): Parsed<{ brokers: BrokerDetails[]; warnings: string[] }>;
  };
}

export type DetailsResult<D> = { ok: true; details: D; warnings: string[] } | { ok: false; error: string };

/** A mode as the parse sees it: its name and its part of discoveryDetails. */
interface NamedParser {
  readonly name: string;
  readonly details: ModeDetailsParser;
}

/** A parser of discoveryDetails over some modes (the first is the default); see modes/. */
export function detailsParser<D extends ModeDetails>(
  modes: readonly NamedParser[],
  reserved: ReadonlySet<string>,
): (text: string) => DetailsResult<D> {
  const names = modes.map((m) => m.name);
  const shapes = modes.map((m) => m.details.keys(reserved));
  const taken = new Set([
    ...Object.keys(brokerKeys),
    "mode",
    ...Object.keys(identityKeys),
    ...Object.keys(listKeys),
  ]);
  // Two modes may read one key only with one schema (a mode that reads another handler's
  // Configurations shares the keys they have in common), so the key means one thing.
  const modeKeys = new Map<string, z.ZodType>();
  for (const [i, shape] of shapes.entries())
    for (const [key, schema] of Object.entries(shape) as [string, z.ZodType][]) {
      if (taken.has(key) || (modeKeys.has(key) && modeKeys.get(key) !== schema))
        throw new Error(`discoveryDetails key ${key} of mode ${names[i]} is taken`);
      modeKeys.set(key, schema);
    }
  for (const key of modeKeys.keys()) taken.add(key);
  // Every mode's keys are checked whatever the mode, so a wrong value never waits for a mode switch.
  const schema = z.object({
    ...brokerKeys,
    mode: z.enum(names as [string, ...string[]]).optional(),
    ...identityKeys,
    ...Object.assign({}, ...shapes),
    ...listKeys,
  });
  const known: KnownKeys = {
    "": new Set(Object.keys(schema.shape)),
    "brokers[]": new Set(Object.keys(brokerSchema.shape)),
  };
  for (const mode of modes)
    for (const [path, keys] of Object.entries(mode.details.known ?? {})) known[path] = new Set(keys);

  return (text) => {
    const raw = readMap(text);
    if (!raw.ok) return raw;
    const parsed = schema.safeParse(raw.value, { reportInput: true });
    if (!parsed.success) return { ok: false, error: parsed.error.issues.map(describeIssue).join("; ") };
    const data = parsed.data as Record<string, unknown> & Common & { mode?: string };
    const warnings = unknownKeys(raw.value, known);
    const name = data.mode ?? modes.find((m) => impliedIn(m, data))?.name ?? names[0]!;
    const index = names.indexOf(name);
    const mode = modes[index]!;
    const ownKeys = Object.keys(shapes[index]!);
    // Another mode's key, given but not read by this one (timeoutSeconds is the reference
    // handler's; generic's is idleTimeoutSeconds): as good as unknown.
    for (const key of Object.keys(raw.value))
      if (modeKeys.has(key) && !ownKeys.includes(key)) warnings.push(`${key} is ignored in ${name} mode`);
    const picked = pick(data, ownKeys);
    const own = mode.details.own(picked);
    if (!own.ok) return own;
    const common = commonDetails(data, picked, mode.details.brokers);
    if (!common.ok) return common;
    warnings.push(...common.warnings);
    // The mode typed its own details; that `mode: name` goes with them is this list's doing.
    return { ok: true, details: { ...common.value, mode: name, ...own.value } as D, warnings };
  };
}

function impliedIn(mode: NamedParser, data: Record<string, unknown>): boolean {
  const key = mode.details.impliedBy;
  return key !== undefined && data[key] !== undefined;
}

function pick(data: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, data[k]]));
}

/** The YAML (or JSON) text as a map; empty text is an empty map. */
function readMap(text: string): Parsed<object> {
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { ok: false, error: `discoveryDetails is not valid YAML: ${message}` };
  }
  if (raw === null || raw === undefined) return { ok: true, value: {} };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, error: `discoveryDetails: expected a map of settings, got ${describeValue(raw)}` };
  }
  return { ok: true, value: raw };
}

function commonDetails(
  data: Common,
  ownKeys: Record<string, unknown>,
  ownBrokers: ModeDetailsParser["brokers"],
): { ok: true; value: CommonDetails; warnings: string[] } | { ok: false; error: string } {
  let brokers: Parsed<BrokerDetails[]>;
  let warnings: string[] = [];
  if (ownBrokers) {
    const beside = data.serverUrls !== undefined ? "serverUrls" : data.brokers !== undefined ? "brokers" : "";
    if (beside !== "")
      return {
        ok: false,
        error: `${beside}: not read beside ${ownBrokers.key}, which names the broker: give one`,
      };
    const own = ownBrokers.of(ownKeys);
    if (!own.ok) return own;
    brokers = { ok: true, value: own.value.brokers };
    warnings = own.value.warnings;
  } else brokers = brokersOf(data);
  if (!brokers.ok) return brokers;
  const { clientId, mqttVersion, offlineGraceSeconds, maxPayloadBytes, configurationName, inventoryAccess } =
    data;
  const common: CommonDetails = {
    brokers: brokers.value,
    clientId,
    mqttVersion,
    offlineGraceSeconds,
    maxPayloadBytes,
    inventoryAccess,
  };
  if (configurationName !== undefined) common.configurationName = configurationName;
  return { ok: true, value: common, warnings };
}

/** The brokers of exactly one of `serverUrls` (one broker) and `brokers` (several). */
function brokersOf(data: Common): Parsed<BrokerDetails[]> {
  if (data.serverUrls !== undefined && data.brokers !== undefined)
    return {
      ok: false,
      error: "brokers: give serverUrls (the URLs of one broker) or brokers (several brokers), not both",
    };
  if (data.serverUrls !== undefined)
    return {
      ok: true,
      value: [{ name: undefined, serverUrls: data.serverUrls, uri: data.serverUrls.join(",") }],
    };
  if (data.brokers === undefined)
    return {
      ok: false,
      error:
        "serverUrls: required (expected a list) of the URLs of one broker; or brokers: several brokers, each {serverUrls: [...]}",
    };
  const brokers = data.brokers.map((b, i) => ({
    name: (b.name ?? String(i + 1)).toUpperCase(),
    serverUrls: b.serverUrls,
    uri: b.serverUrls.join(","),
  }));
  const seen = new Map<string, number>();
  for (const [i, broker] of brokers.entries()) {
    const named = seen.get(broker.name);
    if (named !== undefined)
      return { ok: false, error: `brokers[${i}].name: ${broker.name} is also the name of brokers[${named}]` };
    seen.set(broker.name, i);
    const same = brokers.findIndex((other) =>
      other.serverUrls.some((url) => broker.serverUrls.includes(url)),
    );
    if (same !== i)
      return {
        ok: false,
        error: `brokers[${i}].serverUrls: a URL of brokers[${same}] again (one broker's listeners go in one entry)`,
      };
  }
  return { ok: true, value: brokers };
}
