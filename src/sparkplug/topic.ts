/*
 * The Sparkplug topic namespace (3.0 chapter 4):
 *   spBv1.0/<group>/<VERB>/<edge>[/<device>]   edge and host messages
 *   spBv1.0/STATE/<host>                       3.0 host STATE (JSON)
 *   STATE/<host>                               2.2 host STATE (ONLINE / OFFLINE)
 *   $sparkplug/certificates/spBv1.0/...        births kept by Sparkplug-aware brokers
 * Parsing never throws: anything else is a typed "not Sparkplug" result with the reason.
 */

export const NAMESPACE = "spBv1.0";
export const CERTIFICATES_PREFIX = "$sparkplug/certificates/";

const NODE_VERBS = ["NBIRTH", "NDEATH", "NDATA", "NCMD"] as const;
const DEVICE_VERBS = ["DBIRTH", "DDEATH", "DDATA", "DCMD"] as const;
type NodeVerb = (typeof NODE_VERBS)[number];
type DeviceVerb = (typeof DEVICE_VERBS)[number];
export type Verb = NodeVerb | DeviceVerb;

interface NodeTopic {
  kind: "node";
  verb: NodeVerb;
  group: string;
  edge: string;
}

export interface DeviceTopic {
  kind: "device";
  verb: DeviceVerb;
  group: string;
  edge: string;
  device: string;
}

export interface StateTopic {
  kind: "state";
  /** "3.0": spBv1.0/STATE/<host> with a JSON payload; "2.2": STATE/<host> with ONLINE/OFFLINE. */
  version: "3.0" | "2.2";
  hostId: string;
}

/** A birth republished (retained) by a Sparkplug-aware broker under $sparkplug/certificates/. */
interface CertificateTopic {
  kind: "certificate";
  birth: (NodeTopic & { verb: "NBIRTH" }) | (DeviceTopic & { verb: "DBIRTH" });
}

interface NotSparkplug {
  kind: "not-sparkplug";
  reason: string;
}

export type SparkplugTopic = NodeTopic | DeviceTopic | StateTopic | CertificateTopic | NotSparkplug;
export type EdgeTopic = NodeTopic | DeviceTopic;

function notSparkplug(reason: string): NotSparkplug {
  return { kind: "not-sparkplug", reason };
}

/** Parses an MQTT topic name into its Sparkplug meaning. */
export function parseTopic(topic: string): SparkplugTopic {
  return parseEdgeFast(topic) ?? parseAny(topic);
}

const EDGE_PREFIX = `${NAMESPACE}/`;

/** "node" or "device" for an edge verb, without hashing it (this runs for every message). */
export function verbKind(verb: string): "node" | "device" | undefined {
  switch (verb) {
    case "NDATA":
    case "NBIRTH":
    case "NDEATH":
    case "NCMD":
      return "node";
    case "DDATA":
    case "DBIRTH":
    case "DDEATH":
    case "DCMD":
      return "device";
    default:
      return undefined;
  }
}

/**
 * The common case, a well-formed edge topic, found by scanning for its slashes instead of
 * splitting it (this runs for every message). Anything unusual returns undefined and goes
 * the long way, which gives the exact reason.
 */
function parseEdgeFast(topic: string): EdgeTopic | undefined {
  if (!topic.startsWith(EDGE_PREFIX)) return undefined;
  const a = EDGE_PREFIX.length - 1;
  const b = topic.indexOf("/", a + 1);
  if (b < 0) return undefined;
  const c = topic.indexOf("/", b + 1);
  if (c < 0) return undefined;
  const d = topic.indexOf("/", c + 1);
  if (d >= 0 && topic.indexOf("/", d + 1) >= 0) return undefined;
  const verb = topic.slice(b + 1, c);
  const kind = verbKind(verb);
  if (kind === undefined || (kind === "device") !== d >= 0) return undefined;
  const group = topic.slice(a + 1, b);
  const edge = d < 0 ? topic.slice(c + 1) : topic.slice(c + 1, d);
  if (group === "STATE" || badLevel(group, "group id") || badLevel(edge, "edge node id")) return undefined;
  if (kind === "node") return { kind, verb: verb as NodeVerb, group, edge };
  const device = topic.slice(d + 1);
  if (badLevel(device, "device id")) return undefined;
  return { kind, verb: verb as DeviceVerb, group, edge, device };
}

/** The levels of an NDATA or DDATA topic (`device` undefined for NDATA). */
export interface DataTopicLevels {
  group: string;
  edge: string;
  device: string | undefined;
}

const dataLevels: DataTopicLevels = { group: "", edge: "", device: undefined };

/**
 * The levels of an NDATA or DDATA topic, by its slashes alone: the levels are NOT checked
 * (empty, wildcards), so this serves only to look up nodes and devices the host already
 * knows, whose ids were checked when they were made. Returns one reused object (copy what
 * you keep), or undefined for anything else.
 */
export function dataTopicLevels(topic: string): DataTopicLevels | undefined {
  if (!topic.startsWith(EDGE_PREFIX)) return undefined;
  const b = topic.indexOf("/", EDGE_PREFIX.length);
  if (b < 0) return undefined;
  const c = b + 6;
  const first = topic.charCodeAt(b + 1);
  if (topic.charCodeAt(c) !== 47 || !topic.startsWith("DATA", b + 2) || (first !== 78 && first !== 68))
    return undefined;
  const d = topic.indexOf("/", c + 1);
  if (first === 78) {
    // NDATA: <edge> is the last level.
    if (d >= 0) return undefined;
    dataLevels.edge = topic.slice(c + 1);
    dataLevels.device = undefined;
  } else {
    if (d < 0 || topic.indexOf("/", d + 1) >= 0) return undefined;
    dataLevels.edge = topic.slice(c + 1, d);
    dataLevels.device = topic.slice(d + 1);
  }
  dataLevels.group = topic.slice(EDGE_PREFIX.length, b);
  return dataLevels;
}

function parseAny(topic: string): SparkplugTopic {
  if (topic.startsWith(CERTIFICATES_PREFIX)) return parseCertificate(topic.slice(CERTIFICATES_PREFIX.length));
  const levels = topic.split("/");
  const first = levels[0];
  if (first === "STATE") return parseState(levels, "2.2");
  if (first !== NAMESPACE) {
    return notSparkplug(`topic does not start with ${NAMESPACE}/ or STATE/`);
  }
  if (levels[1] === "STATE") {
    const state = parseState(levels.slice(1), "3.0");
    // A group literally named STATE is still an edge topic when it has 4-5 levels.
    if (state.kind === "state" || levels.length <= 3) return state;
  }
  return parseEdgeLevels(levels);
}

function parseState(levels: string[], version: "3.0" | "2.2"): StateTopic | NotSparkplug {
  const prefix = version === "3.0" ? "spBv1.0/STATE" : "STATE";
  if (levels.length !== 2) {
    return notSparkplug(`${prefix} topic needs exactly one host id level, found ${levels.length - 1}`);
  }
  const hostId = levels[1]!;
  const bad = badLevel(hostId, "host id");
  return bad ? notSparkplug(bad) : { kind: "state", version, hostId };
}

function parseEdgeLevels(levels: string[]): EdgeTopic | NotSparkplug {
  if (levels.length < 4 || levels.length > 5) {
    return notSparkplug(
      `expected ${NAMESPACE}/<group>/<verb>/<edge>[/<device>], found ${levels.length} levels`,
    );
  }
  const [, group, verb, edge, device] = levels as [string, string, string, string, string | undefined];
  const bad = badLevel(group, "group id") ?? badLevel(edge, "edge node id");
  if (bad) return notSparkplug(bad);
  const kind = verbKind(verb);
  if (kind === "node") {
    if (device !== undefined) return notSparkplug(`${verb} is a node message and takes no device id level`);
    return { kind: "node", verb: verb as NodeVerb, group, edge };
  }
  if (kind === "device") {
    if (device === undefined) return notSparkplug(`${verb} is a device message and needs a device id level`);
    const badDevice = badLevel(device, "device id");
    if (badDevice) return notSparkplug(badDevice);
    return { kind: "device", verb: verb as DeviceVerb, group, edge, device };
  }
  return notSparkplug(`unknown message type ${JSON.stringify(verb)}`);
}

function parseCertificate(rest: string): CertificateTopic | NotSparkplug {
  const inner = parseTopic(rest);
  if (inner.kind === "node" && inner.verb === "NBIRTH")
    return { kind: "certificate", birth: { ...inner, verb: "NBIRTH" } };
  if (inner.kind === "device" && inner.verb === "DBIRTH") {
    return { kind: "certificate", birth: { ...inner, verb: "DBIRTH" } };
  }
  return notSparkplug(
    inner.kind === "not-sparkplug"
      ? `certificate topic: ${inner.reason}`
      : "certificate topics hold only NBIRTH and DBIRTH messages",
  );
}

function badLevel(level: string, what: string): string | undefined {
  if (level === "") return `empty ${what}`;
  if (level.includes("+") || level.includes("#"))
    return `${what} ${JSON.stringify(level)} contains a wildcard`;
  return undefined;
}

/*
 * Topics and ids are kept for every listed device: they are joined into one flat string.
 * (A template literal builds a tree of cons strings that stays in memory as such: three or
 * four 32-byte nodes on top of the text.)
 */

/** Builds the topic of an edge message. */
export function edgeTopic(verb: Verb, group: string, edge: string, device?: string): string {
  return device === undefined
    ? [NAMESPACE, group, verb, edge].join("/")
    : [NAMESPACE, group, verb, edge, device].join("/");
}

/** The 3.0 STATE topic of a host application. */
export function stateTopic(hostId: string): string {
  return `${NAMESPACE}/STATE/${hostId}`;
}

/**
 * The id of an edge node or device as Akri lists it: `spBv1.0/<group>/<edge>[/<device>]`
 * (design.md §5), the same on every node.
 */
export function entityId(group: string, edge: string, device?: string): string {
  return device === undefined
    ? [NAMESPACE, group, edge].join("/")
    : [NAMESPACE, group, edge, device].join("/");
}
