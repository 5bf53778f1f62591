import { describeEvent, isProblem } from "../../sparkplug/host/describe.js";
import type { HostEvent, HostEventKind } from "../../sparkplug/host/events.js";
import { type ReportEntry, reportEntry, type Severity } from "../report.js";

/*
 * The Sparkplug host's events as report entries: every kind with its severity (lifecycle at
 * debug, what a plant operator may want to know at info, broken traffic at warn), the Akri
 * id or topic it concerns, and its details.
 */

const SEVERITY: Record<HostEventKind, Severity> = {
  "node-born": "debug",
  "node-died": "debug",
  "device-born": "debug",
  "device-died": "debug",
  "node-stale": "debug",
  "reorder-healed": "debug",
  "broker-lost": "debug",
  "broker-online": "debug",
  "host-state": "debug",
  "rebirth-observed": "debug",
  "rebirth-requested": "info",
  "seq-gap": "info",
  "seq-duplicate": "info",
  "stale-death-ignored": "info",
  "data-before-birth": "info",
  "retained-message": "info",
  "host-state-ignored": "info",
  "decode-error": "warn",
  "not-sparkplug": "warn",
  "protocol-warning": "warn",
  "reorder-expired": "warn",
  "unknown-metric": "warn",
  "duplicate-alias": "warn",
};

/** The Akri id an event concerns (the node's or the device's), or its topic. */
function subjectOf(event: HostEvent): string | undefined {
  if ("group" in event) {
    return event.device === undefined
      ? `spBv1.0/${event.group}/${event.edge}`
      : `spBv1.0/${event.group}/${event.edge}/${event.device}`;
  }
  if ("topic" in event) return event.topic;
  return undefined;
}

export function reportHostEvent(event: HostEvent): ReportEntry {
  const { kind, ...fields } = event;
  return reportEntry(kind, SEVERITY[kind], isProblem(event), subjectOf(event), fields, () =>
    describeEvent(event),
  );
}
