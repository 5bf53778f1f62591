import type { Publish, Will } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "./device.js";
import type { ReportEntry } from "./report.js";

/*
 * The seam between the mode-neutral discovery engine and a discovery mode (Sparkplug B,
 * generic topics). A mode is a reducer over broker traffic and time: it says what to
 * subscribe to, applies each input at a given time, and keeps the list of devices it has
 * found. It does no I/O and reads no clock, so replay and tests run it on virtual time.
 */

/** What drives a discovery: messages, its broker connection, the passing of time, the end. */
export type DiscoveryInput =
  | { kind: "message"; message: MqttMessage }
  /** Connected and subscribed; `willTimestamp` is the moment of the CONNECT whose Will is registered. */
  | { kind: "online"; broker: string; willTimestamp: number }
  | { kind: "offline"; broker: string }
  | { kind: "tick" }
  | { kind: "shutdown" };

/** Something a mode must publish (a Sparkplug rebirth request, its STATE). */
export interface DiscoveryCommand extends Publish {
  /** The broker to publish on, when it matters. */
  broker?: string | undefined;
}

/** Where a step puts what it caused. */
export interface StepSink {
  readonly commands: DiscoveryCommand[];
  readonly report: ReportEntry[];
  /**
   * Devices newly listed (or listed with other properties) in this step: a consumer may
   * prepare what a list of them will need (the Akri layer encodes them) while traffic is
   * light, rather than all at once when the list goes out.
   */
  readonly listed: DiscoveredDevice[];
}

export interface Discoverer {
  /** The MQTT topic filters to subscribe to. */
  readonly subscriptions: readonly string[];
  /** The Will to register at every CONNECT, if the mode has one. */
  readonly will: Will | undefined;
  /** Applies one input at `now`, then whatever of the mode's own timers is due by then. */
  step(input: DiscoveryInput, now: number, out: StepSink): void;
  /** The earliest time a tick has something to do, if any. */
  nextDeadline(): number | undefined;
  /** Bumped whenever what Akri would see (ids, properties) changes. */
  readonly version: number;
  /** The devices found, sorted by id. */
  list(): DiscoveredDevice[];
  /** How a listed device is doing now (undefined: not listed). */
  statusOf(id: string): DeviceStatus | undefined;
  /** The broker a listed device is on now (its serverUrls, comma-joined), when the mode knows. */
  brokerOf(id: string): string | undefined;
  /** Facts about an entity for people (its session's birth, gaps, rebirths…), when the mode has any. */
  factsOf(id: string): Record<string, string | number> | undefined;
  /** Every entity seen but not listed now, with why (computed when asked). */
  unlisted(): UnlistedEntity[];
}
