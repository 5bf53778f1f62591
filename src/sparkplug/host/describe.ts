import type { HostEvent, HostEventKind, Scope } from "./events.js";
import { nodeKey } from "./model.js";

/** How much an event matters: debug for lifecycle, info for what an operator may want to know, warn for broken traffic. */
export type EventSeverity = "debug" | "info" | "warn";

/**
 * Every kind of host event: how much it matters, and whether it reports a problem in the
 * traffic (as opposed to a lifecycle change). A new kind must be added here (the compiler
 * says so) and to describeEvent below; everything else reads these.
 */
export const EVENT_KINDS: { readonly [K in HostEventKind]: { severity: EventSeverity; problem: boolean } } = {
  "node-born": { severity: "debug", problem: false },
  "node-died": { severity: "debug", problem: false },
  "device-born": { severity: "debug", problem: false },
  "device-died": { severity: "debug", problem: false },
  "node-stale": { severity: "debug", problem: false },
  "reorder-healed": { severity: "debug", problem: false },
  "broker-lost": { severity: "debug", problem: false },
  "broker-online": { severity: "debug", problem: false },
  "host-state": { severity: "debug", problem: false },
  "rebirth-observed": { severity: "debug", problem: false },
  "rebirth-requested": { severity: "info", problem: false },
  "seq-gap": { severity: "info", problem: true },
  "seq-duplicate": { severity: "info", problem: true },
  "stale-death-ignored": { severity: "info", problem: true },
  "data-before-birth": { severity: "info", problem: true },
  "retained-message": { severity: "info", problem: true },
  "host-state-ignored": { severity: "info", problem: true },
  "decode-error": { severity: "warn", problem: true },
  "not-sparkplug": { severity: "warn", problem: true },
  "protocol-warning": { severity: "warn", problem: true },
  "reorder-expired": { severity: "warn", problem: true },
  "unknown-metric": { severity: "warn", problem: true },
  "duplicate-alias": { severity: "warn", problem: true },
};

export function isProblem(event: HostEvent): boolean {
  return EVENT_KINDS[event.kind].problem;
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
