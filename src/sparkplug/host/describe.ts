import type { HostEvent, HostEventKind, Scope } from "./events.js";
import { nodeKey } from "./model.js";

/** Event kinds that report a protocol problem (as opposed to a lifecycle change). */
const PROBLEMS: ReadonlySet<HostEventKind> = new Set<HostEventKind>([
  "decode-error",
  "not-sparkplug",
  "retained-message",
  "protocol-warning",
  "stale-death-ignored",
  "seq-gap",
  "reorder-expired",
  "seq-duplicate",
  "unknown-metric",
  "duplicate-alias",
  "data-before-birth",
  "host-state-ignored",
]);

export function isProblem(event: HostEvent): boolean {
  return PROBLEMS.has(event.kind);
}

function where(scope: Scope): string {
  const node = nodeKey(scope.group, scope.edge);
  return scope.device === undefined ? node : `${node}/${scope.device}`;
}

/** A one-line human description of an event. */
export function describeEvent(event: HostEvent): string {
  switch (event.kind) {
    case "node-born":
      return `edge node ${where(event)} ${event.reborn ? "reborn" : "born"} (bdSeq ${event.bdSeq ?? "none"}, ${event.source})`;
    case "node-died":
      return `edge node ${where(event)} died (${event.reason})`;
    case "device-born":
      return `device ${where(event)} born (${event.source})`;
    case "device-died":
      return `device ${where(event)} died (${event.reason})`;
    case "stale-death-ignored":
      return `stale NDEATH of ${where(event)} ignored (bdSeq ${event.bdSeq ?? "none"}): ${event.reason}`;
    case "seq-gap":
      return `seq gap on ${where(event)}: expected ${event.expected}, received ${event.received}; waiting for the missing messages`;
    case "reorder-healed":
      return `seq gap on ${where(event)} healed after ${event.waitedMs} ms`;
    case "reorder-expired":
      return `seq gap on ${where(event)} not healed in time; missing ${event.missing.join(", ")}`;
    case "seq-duplicate":
      return `seq ${event.seq} on ${where(event)} is a duplicate or too late; dropped`;
    case "rebirth-requested":
      return `rebirth requested from ${where(event)} (${event.reason})`;
    case "rebirth-observed":
      return `another host requested a rebirth from ${where(event)}`;
    case "unknown-metric":
      return `metric ${event.alias !== undefined ? `alias ${event.alias}` : JSON.stringify(event.name ?? "")} on ${where(event)} is not in its birth`;
    case "duplicate-alias":
      return `alias ${event.alias} is used by more than one metric in the birth of ${where(event)}`;
    case "data-before-birth":
      return `${event.verb} from ${where(event)} before its birth`;
    case "node-stale":
      return `edge node ${where(event)} is stale`;
    case "decode-error":
      return `malformed payload on ${event.topic}${event.offset !== undefined ? ` at byte ${event.offset}` : ""}: ${event.message}`;
    case "not-sparkplug":
      return `${event.topic} is not a Sparkplug topic: ${event.reason}`;
    case "retained-message":
      return `${event.topic} was retained: edge messages must not be, so its age is unknown`;
    case "protocol-warning":
      return `${event.topic}: ${event.message}`;
    case "host-state":
      return `host ${event.hostId} is ${event.online ? "online" : "offline"} (${event.version} STATE)`;
    case "host-state-ignored":
      return `STATE of host ${event.hostId} ignored: ${event.reason}`;
    case "broker-lost":
      return `connection to ${event.broker} lost; everything known is stale`;
    case "broker-online":
      return `connected to ${event.broker}`;
  }
}
