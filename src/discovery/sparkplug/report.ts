import { describeEvent, EVENT_KINDS } from "../../sparkplug/host/describe.js";
import type { HostEvent } from "../../sparkplug/host/events.js";
import { entityId } from "../../sparkplug/topic.js";
import { type ReportEntry, reportEntry } from "../report.js";

/* The Sparkplug host's events as report entries: the Akri id or topic each concerns, and its details. */

/** The Akri id an event concerns (the node's or the device's), or its topic. */
function subjectOf(event: HostEvent): string | undefined {
  if ("group" in event) return entityId(event.group, event.edge, event.device);
  if ("topic" in event) return event.topic;
  return undefined;
}

export function reportHostEvent(event: HostEvent): ReportEntry {
  const { kind, ...fields } = event;
  const { severity, problem } = EVENT_KINDS[kind];
  return reportEntry(kind, severity, problem, subjectOf(event), fields, () => describeEvent(event));
}
