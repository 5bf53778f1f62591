import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { topicFilterProblem } from "../mqtt/topic-filter.js";
import { defaultRebirthOptions } from "../sparkplug/host/options.js";
import { STANDARD_PROPERTIES } from "./device.js";

/*
 * `discoveryDetails` (design.md §4): the one place where a Configuration's YAML is parsed
 * and validated. Errors name the key and what was expected; unknown keys are warnings
 * (Akri convention: ignored, but a typo should not go unnoticed); secrets are refused here
 * and come from `discoveryProperties` instead (see broker-credentials.ts).
 */

const PROTOCOLS = ["tcp", "mqtt", "ssl", "mqtts", "ws", "wss"];
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

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

const topicFilter = z.string().superRefine((value, ctx) => {
  const problem = topicFilterProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const filterList = z.object({
  action: z.enum(["Include", "Exclude"]).default("Include"),
  items: z.array(z.string()),
});

const sparkplugId = z.string().refine((s) => s !== "" && !/[/+#]/.test(s), {
  message: 'expected a non-empty id without "/", "+" or "#"',
});

const rebirth = defaultRebirthOptions;
const rebirthSchema = z.object({
  onUnknownNode: z.boolean().default(rebirth.onUnknownNode),
  onSeqGap: z.boolean().default(rebirth.onSeqGap),
  onUnknownMetric: z.boolean().default(rebirth.onUnknownMetric),
  reorderTimeoutMs: z.number().int().min(0).max(600_000).default(rebirth.reorderTimeoutMs),
  minIntervalPerNodeMs: z.number().int().min(0).default(rebirth.minIntervalPerNodeMs),
  maxPerSecond: z.number().min(0).default(rebirth.maxPerSecond),
  jitterMs: z.number().int().min(0).max(60_000).default(rebirth.jitterMs),
});

const selector = z.object({
  name: z.string().min(1),
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
});

const sparkplugSchema = z.object({
  groupIds: filterList.optional(),
  edgeNodeIds: filterList.optional(),
  deviceIds: filterList.optional(),
  discover: z.enum(["devices", "nodes", "both"]).default("devices"),
  birthMetrics: z.array(selector).default([]),
  properties: z
    .record(z.string(), z.string().min(1))
    .default({})
    .superRefine((record, ctx) => {
      for (const key of Object.keys(record)) {
        if (!ENV_KEY.test(key)) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "property names become environment variables: use upper-case letters, digits and _",
          });
        } else if (STANDARD_PROPERTIES.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `${key} is a standard property and cannot be mapped`,
          });
        }
      }
    }),
  hostId: sparkplugId.default("akri-mqtt"),
  publishState: z.boolean().default(true),
  rebirth: rebirthSchema.default(rebirthSchema.parse({})),
  useCertificates: z.boolean().default(true),
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

const detailsSchema = z.object({
  serverUrls: serverUrls.optional(),
  brokers: z.array(brokerSchema).min(1).optional(),
  mode: z.enum(["sparkplug", "generic"]).optional(),
  clientId: z.string().min(1).max(200).default("akri-mqtt"),
  mqttVersion: z.union([z.literal(3), z.literal(5)]).default(5),
  offlineGraceSeconds: z.number().min(0).default(0),
  sparkplug: sparkplugSchema.default(sparkplugSchema.parse({})),
  topics: z.array(topicFilter).optional(),
  deviceId: z.string().min(1).optional(),
  idleTimeoutSeconds: z.number().positive().default(300),
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
});

export type SparkplugDetails = z.infer<typeof sparkplugSchema>;
/** Who may read a stream's plant inventory: the pod's own loopback, or anyone who reaches the pod. */
export type InventoryAccess = z.infer<typeof detailsSchema>["inventoryAccess"];
export type BirthMetricSelector = z.infer<typeof selector>;

type Parsed = z.infer<typeof detailsSchema>;

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
}

/** What every mode has: where the brokers are, who we are on them, and how lists behave. */
type CommonDetails = Pick<
  Parsed,
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

/** Sparkplug B discovery: born edge nodes and devices. */
export interface SparkplugDiscoveryDetails extends CommonDetails {
  mode: "sparkplug";
  sparkplug: SparkplugDetails;
}

/** Generic discovery: a device per topic (or per id a template extracts), while it publishes. */
export interface GenericDiscoveryDetails extends CommonDetails {
  mode: "generic";
  topics: string[];
  deviceId: string | undefined;
  idleTimeoutSeconds: number;
}

export type DiscoveryDetails = SparkplugDiscoveryDetails | GenericDiscoveryDetails;

export type DetailsResult =
  | { ok: true; details: DiscoveryDetails; warnings: string[] }
  | { ok: false; error: string };

/** Known keys, for warning about the unknown ones (typos would otherwise pass silently). */
const KNOWN: Record<string, Set<string>> = {
  "": new Set(Object.keys(detailsSchema.shape)),
  sparkplug: new Set(Object.keys(sparkplugSchema.shape)),
  "sparkplug.rebirth": new Set(Object.keys(rebirthSchema.shape)),
  "sparkplug.groupIds": new Set(["action", "items"]),
  "sparkplug.edgeNodeIds": new Set(["action", "items"]),
  "sparkplug.deviceIds": new Set(["action", "items"]),
  "brokers[]": new Set(Object.keys(brokerSchema.shape)),
};

/** Warnings for keys not in KNOWN[`path`]; `shown` is the path as the user wrote it (with indexes). */
function unknownKeys(value: unknown, path = "", shown = path): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  const known = KNOWN[path];
  if (!known) return [];
  const warnings: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === "" ? key : `${path}.${key}`;
    const childShown = shown === "" ? key : `${shown}.${key}`;
    if (!known.has(key)) warnings.push(`unknown key ${childShown} is ignored`);
    else if (Array.isArray(child) && KNOWN[`${childPath}[]`])
      for (const [i, item] of child.entries())
        warnings.push(...unknownKeys(item, `${childPath}[]`, `${childShown}[${i}]`));
    else warnings.push(...unknownKeys(child, childPath, childShown));
  }
  return warnings;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return JSON.stringify(value);
}

function issuePath(path: PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

/** A zod issue as "key: what was expected, what was found". */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issuePath(issue.path) || "discoveryDetails";
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `${path}: required (expected ${article(issue.expected)})`;
      return `${path}: expected ${article(issue.expected)}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(issue.input)}`;
    case "invalid_union":
      return `${path}: expected ${path === "mqttVersion" ? "3 or 5" : "a different value"}, got ${describeValue(issue.input)}`;
    case "too_small":
      if (issue.origin === "array") return `${path}: expected at least ${issue.minimum} item(s)`;
      if (issue.origin === "string") return `${path}: expected a non-empty string`;
      return `${path}: expected a number ${issue.inclusive ? ">=" : ">"} ${issue.minimum}, got ${describeValue(issue.input)}`;
    case "too_big":
      if (issue.origin === "string") return `${path}: expected at most ${issue.maximum} characters`;
      return `${path}: expected a number <= ${issue.maximum}, got ${describeValue(issue.input)}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

function article(expected: string): string {
  const words: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a map",
    record: "a map",
  };
  return words[expected] ?? expected;
}

/** Parses a Configuration's discoveryDetails (YAML or JSON). */
export function parseDiscoveryDetails(text: string): DetailsResult {
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { ok: false, error: `discoveryDetails is not valid YAML: ${message}` };
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, error: `discoveryDetails: expected a map of settings, got ${describeValue(raw)}` };
  }
  const parsed = detailsSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.map(describeIssue).join("; ") };
  }
  const data = parsed.data;
  const warnings = unknownKeys(raw);
  const mode = data.mode ?? (data.topics !== undefined ? "generic" : "sparkplug");
  if (mode === "generic" && (data.topics === undefined || data.topics.length === 0)) {
    return { ok: false, error: "topics: required in generic mode (expected a list of MQTT topic filters)" };
  }
  if (mode === "generic" && data.deviceId !== undefined) {
    const problem = deviceIdTemplateProblem(data.deviceId);
    if (problem) return { ok: false, error: `deviceId: ${problem}` };
  }
  if (mode === "sparkplug" && data.topics !== undefined) warnings.push("topics is ignored in sparkplug mode");
  const brokers = brokersOf(data);
  if (!brokers.ok) return brokers;
  const { clientId, mqttVersion, offlineGraceSeconds, maxPayloadBytes, configurationName, inventoryAccess } =
    data;
  const common: CommonDetails = {
    brokers: brokers.brokers,
    clientId,
    mqttVersion,
    offlineGraceSeconds,
    maxPayloadBytes,
    inventoryAccess,
  };
  if (configurationName !== undefined) common.configurationName = configurationName;
  const details: DiscoveryDetails =
    mode === "sparkplug"
      ? { ...common, mode, sparkplug: data.sparkplug }
      : {
          ...common,
          mode,
          topics: data.topics ?? [],
          deviceId: data.deviceId,
          idleTimeoutSeconds: data.idleTimeoutSeconds,
        };
  return { ok: true, details, warnings };
}

/** The brokers of exactly one of `serverUrls` (one broker) and `brokers` (several). */
function brokersOf(data: Parsed): { ok: true; brokers: BrokerDetails[] } | { ok: false; error: string } {
  if (data.serverUrls !== undefined && data.brokers !== undefined)
    return {
      ok: false,
      error: "brokers: give serverUrls (the URLs of one broker) or brokers (several brokers), not both",
    };
  if (data.serverUrls !== undefined)
    return {
      ok: true,
      brokers: [{ name: undefined, serverUrls: data.serverUrls, uri: data.serverUrls.join(",") }],
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
  return { ok: true, brokers };
}

/** Why a deviceId template such as "robots/{robot}/joints" is invalid, or undefined. */
function deviceIdTemplateProblem(template: string): string | undefined {
  const levels = template.split("/");
  const names = new Set<string>();
  for (const [i, level] of levels.entries()) {
    if (level === "#") {
      if (i !== levels.length - 1) return `"#" must be the last level of ${JSON.stringify(template)}`;
      continue;
    }
    if (level === "+") continue;
    const placeholder = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(level);
    if (placeholder) {
      if (names.has(placeholder[1]!)) return `placeholder {${placeholder[1]}} is used twice`;
      names.add(placeholder[1]!);
      continue;
    }
    if (/[{}+#]/.test(level)) {
      return `level ${JSON.stringify(level)} must be a literal, "+", "#" or a whole {name} placeholder`;
    }
  }
  return undefined;
}
