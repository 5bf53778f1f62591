import { type ReportEntry, reportEntry, type Severity } from "../report.js";
import type { PresenceEvent } from "./presence.js";

/* Generic discovery's events as report entries. */

const ENTRIES: Record<PresenceEvent["kind"], { severity: Severity; problem: boolean; message: string }> = {
  "device-appeared": { severity: "debug", problem: false, message: "device appeared" },
  "device-idle": { severity: "debug", problem: false, message: "device idle" },
  "retained-ignored": {
    severity: "debug",
    problem: true,
    message: "retained message without a recent timestamp ignored",
  },
  "payload-not-matched": {
    severity: "debug",
    problem: false,
    message: "message whose payload does not contain the payload filter's pattern ignored",
  },
  "unmatched-topic": {
    severity: "warn",
    problem: true,
    message: "message on a subscribed topic that the deviceId template does not match",
  },
};

export function reportPresenceEvent(event: PresenceEvent): ReportEntry {
  const { kind, ...fields } = event;
  const { severity, problem, message } = ENTRIES[kind];
  return reportEntry(kind, severity, problem, "id" in event ? event.id : event.topic, fields, () => message);
}
