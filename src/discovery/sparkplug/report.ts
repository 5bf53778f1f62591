import { describeEvent, EVENT_KINDS } from "../../sparkplug/host/describe.js";
import type { HostEvent } from "../../sparkplug/host/events.js";
import { entityId } from "../../sparkplug/topic.js";
import type { ReportEntry, Severity } from "../report.js";

/*
 * The Sparkplug host's events as report entries: the Akri id or topic each concerns, and its
 * details. An entry wraps its event and works out the rest only when read: a plant joined cold
 * reports a problem for nearly every message, and most entries are only counted by kind.
 */

class HostEventEntry implements ReportEntry {
  constructor(private readonly event: HostEvent) {}

  get kind(): string {
    return this.event.kind;
  }

  get severity(): Severity {
    return EVENT_KINDS[this.event.kind].severity;
  }

  get problem(): boolean {
    return EVENT_KINDS[this.event.kind].problem;
  }

  /** The Akri id the event concerns (the node's or the device's), or its topic. */
  get subject(): string | undefined {
    const event = this.event;
    if ("group" in event) return entityId(event.group, event.edge, event.device);
    if ("topic" in event) return event.topic;
    return undefined;
  }

  get fields(): Readonly<Record<string, unknown>> {
    const { kind: _kind, ...fields } = this.event;
    return fields;
  }

  get message(): string {
    return describeEvent(this.event);
  }
}

export function reportHostEvent(event: HostEvent): ReportEntry {
  return new HostEventEntry(event);
}
