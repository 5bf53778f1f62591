import type { MqttMessage } from "../../mqtt/message.js";
import { topicMatches } from "../../mqtt/topic-filter.js";
import { earlier } from "../../time/deadline.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedCode, UnlistedEntity } from "../device.js";
import { sortDevices } from "../device.js";
import type { PayloadFilter } from "../payload-filter.js";
import { compileDeviceTemplate, type DeviceTemplate } from "./device-template.js";

/*
 * Generic discovery for plain MQTT fleets: a device is present while it publishes. Each
 * distinct topic (or each id a deviceId template extracts) is a device; it leaves after
 * idleTimeoutSeconds of silence (plus offlineGraceSeconds). A reducer: time is an input.
 *
 * Retained messages are old news of unknown age: they never make a device present unless
 * their JSON payload carries a timestamp within the idle timeout (or `retained: "counts"`, as
 * the reference handler's Configurations expect). A broker outage pauses the idle clock, so
 * an outage never empties the list. A payload filter, when set, decides which messages count.
 *
 * With several brokers, the same id on two brokers is one device, on the broker it last
 * published on (`brokerOf`, for /devices). Its properties never follow it: they come from
 * the Configuration, because a listed device's properties must never change (every node's
 * agent would get a 409 applying the change; see broker-properties.ts).
 */

export interface PresenceOptions {
  topics: readonly string[];
  deviceId?: string | undefined;
  idleTimeoutSeconds: number;
  offlineGraceSeconds: number;
  /** The brokers' identities (their serverUrls, comma-joined); the first stands for a source that names none. */
  brokers: readonly string[];
  /** A device's properties, from its id and the topic filter that covers it (from the Configuration alone). */
  properties: (id: string, filter: string) => Record<string, string>;
  /** Whether a retained message makes a device present: only with a recent timestamp (default), or always. */
  retained?: "needs-timestamp" | "counts";
  /** Only messages whose payload it matches count. */
  payloadFilter?: PayloadFilter | undefined;
}

interface Seen {
  device: DiscoveredDevice;
  lastSeen: number;
  /** Silent past the idle timeout, kept listed for the grace period. */
  idle: boolean;
  /** The broker it last published on (where it is now; not a property). */
  broker: string;
}

export type PresenceEvent =
  | { kind: "device-appeared"; id: string; topic: string }
  | { kind: "device-idle"; id: string }
  | { kind: "retained-ignored"; topic: string }
  | { kind: "unmatched-topic"; topic: string }
  | { kind: "payload-not-matched"; topic: string };

const NO_EVENTS: readonly PresenceEvent[] = Object.freeze([]);

/** How many unlisted topics are remembered (the latest), so that hostile topics cannot grow memory. */
const UNLISTED_LIMIT = 1000;

const TIMESTAMP_KEYS = ["timestamp", "ts", "time"];

/** The time a JSON payload says it was measured, in ms, if it says so. */
export function payloadTimestamp(payload: Uint8Array): number | undefined {
  if (payload.byteLength === 0 || payload.byteLength > 65536 || payload[0] !== 0x7b /* { */) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null) return undefined;
  for (const key of TIMESTAMP_KEYS) {
    const value = (json as Record<string, unknown>)[key];
    if (typeof value === "number" && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
    if (typeof value === "string") {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return undefined;
}

export class GenericPresence {
  private readonly seen = new Map<string, Seen>();
  private readonly template: DeviceTemplate | undefined;
  /** Brokers whose connection is down, since when: their devices' idle clocks stop. */
  private readonly offline = new Map<string, number>();
  /**
   * No device's deadline (going offline, or leaving) is before this; it may be earlier than
   * the real first deadline, and then a check finds nothing and moves it. Every message asks
   * for the next deadline, so that must not walk the whole fleet each time. Deadlines only
   * move later as devices publish, so lowering this for each new deadline keeps it true.
   */
  private checkFrom: number | undefined;
  /** Bumped whenever what Akri would see changes. */
  version = 0;
  /** Devices listed since the last `drainListed`. */
  private listed: DiscoveredDevice[] = [];
  /** Topics seen but not listed, and why (the latest UNLISTED_LIMIT, for /devices?all=true). */
  private readonly notListed = new Map<string, UnlistedEntity>();

  constructor(private readonly options: PresenceOptions) {
    this.template = options.deviceId === undefined ? undefined : compileDeviceTemplate(options.deviceId);
  }

  private get lifetimeMs(): number {
    return (this.options.idleTimeoutSeconds + this.options.offlineGraceSeconds) * 1000;
  }

  /** When the entry next changes: it goes offline (with a grace period), or leaves. */
  private deadlineOf(entry: Seen): number {
    const online = !entry.idle && this.options.offlineGraceSeconds > 0;
    return entry.lastSeen + (online ? this.options.idleTimeoutSeconds * 1000 : this.lifetimeMs);
  }

  private noteDeadline(entry: Seen): void {
    this.checkFrom = earlier(this.checkFrom, this.deadlineOf(entry));
  }

  /** A message on one of the topics; returns what it changed. */
  onMessage(message: MqttMessage, now: number): PresenceEvent | undefined {
    if (!this.options.topics.some((f) => topicMatches(f, message.topic))) return undefined;
    const match = this.template ? this.template(message.topic) : { id: message.topic, filter: message.topic };
    if (!match) {
      this.noteUnlisted(
        message.topic,
        "online",
        "unmatched-topic",
        "the deviceId template does not match this topic",
      );
      return { kind: "unmatched-topic", topic: message.topic };
    }
    const filter = this.options.payloadFilter;
    if (filter !== undefined && !filter.matches(message.payload)) {
      // Not a message that counts: it neither lists the device nor keeps it listed.
      if (!this.seen.has(match.id))
        this.noteUnlisted(
          match.id,
          "online",
          "payload-not-matched",
          `${filter.key} ${JSON.stringify(filter.pattern)} does not occur in its payload`,
        );
      return { kind: "payload-not-matched", topic: message.topic };
    }
    let at = now;
    if (message.retain && this.options.retained !== "counts") {
      const measured = payloadTimestamp(message.payload);
      if (measured === undefined || now - measured >= this.options.idleTimeoutSeconds * 1000) {
        if (!this.seen.has(match.id))
          this.noteUnlisted(
            match.id,
            "offline",
            "retained-too-old",
            measured === undefined
              ? "only a retained message, without a timestamp to tell its age"
              : `only a retained message, older than idleTimeoutSeconds (${this.options.idleTimeoutSeconds} s)`,
          );
        return { kind: "retained-ignored", topic: message.topic };
      }
      at = Math.min(measured, now);
    }
    const broker = message.broker ?? this.options.brokers[0]!;
    const existing = this.seen.get(match.id);
    if (existing) {
      existing.lastSeen = Math.max(existing.lastSeen, at);
      existing.idle = false;
      this.noteDeadline(existing);
      // Several brokers: a device lives on the one it last published on.
      existing.broker = broker;
      return undefined;
    }
    const device = this.device(match.id, match.filter);
    this.notListed.delete(match.id);
    const entry = { device, lastSeen: at, idle: false, broker };
    this.seen.set(match.id, entry);
    this.noteDeadline(entry);
    this.listed.push(device);
    this.version++;
    return { kind: "device-appeared", id: match.id, topic: message.topic };
  }

  private device(id: string, filter: string): DiscoveredDevice {
    return { id, kind: "topic", properties: this.options.properties(id, filter) };
  }

  /** A broker connection went down: the idle clocks of its devices stop. */
  onOffline(broker: string, now: number): void {
    if (!this.offline.has(broker)) this.offline.set(broker, now);
  }

  /** A broker connection is back: the outage does not count as its devices' silence. */
  onOnline(broker: string, now: number): void {
    const since = this.offline.get(broker);
    if (since === undefined) return;
    this.offline.delete(broker);
    const outage = now - since;
    for (const entry of this.seen.values()) {
      if (entry.broker !== broker) continue;
      entry.lastSeen += outage;
      this.noteDeadline(entry);
    }
  }

  /** Drops devices silent for longer than the idle timeout plus grace (not those of a broker that is down). */
  expire(now: number): readonly PresenceEvent[] {
    if (this.allOffline || this.checkFrom === undefined || now < this.checkFrom) return NO_EVENTS;
    const events: PresenceEvent[] = [];
    const idleMs = this.options.idleTimeoutSeconds * 1000;
    const lifetimeMs = this.lifetimeMs;
    let next: number | undefined;
    for (const [id, entry] of this.seen) {
      // Its broker is down: its deadline is noted again when the broker is back.
      if (this.offline.size > 0 && this.offline.has(entry.broker)) continue;
      const silent = now - entry.lastSeen;
      if (silent >= lifetimeMs) {
        this.seen.delete(id);
        this.noteUnlisted(
          id,
          "offline",
          "offline",
          `silent for idleTimeoutSeconds (${this.options.idleTimeoutSeconds} s) and past offlineGraceSeconds (${this.options.offlineGraceSeconds} s)`,
        );
        this.version++;
        events.push({ kind: "device-idle", id });
        continue;
      }
      if (silent >= idleMs) entry.idle = true;
      next = earlier(next, this.deadlineOf(entry));
    }
    this.checkFrom = next;
    return events;
  }

  private noteUnlisted(
    id: string,
    status: UnlistedEntity["status"],
    code: UnlistedCode,
    message: string,
  ): void {
    this.notListed.delete(id);
    if (this.notListed.size >= UNLISTED_LIMIT) this.notListed.delete(this.notListed.keys().next().value!);
    this.notListed.set(id, { id, kind: "topic", status, reason: { code, message } });
  }

  /** What the fleet page shows of a device: when it last published (host time), and its broker. */
  factsOf(id: string): Record<string, string | number> | undefined {
    const entry = this.seen.get(id);
    if (entry === undefined) return undefined;
    return { lastMessageAt: new Date(entry.lastSeen).toISOString(), broker: entry.broker };
  }

  /** Topics seen but not listed now (the latest UNLISTED_LIMIT), sorted by id. */
  unlisted(): UnlistedEntity[] {
    return sortDevices([...this.notListed.values()]);
  }

  /** The devices listed since the last call: what the next list will need. */
  drainListed(): DiscoveredDevice[] {
    const listed = this.listed;
    if (listed.length > 0) this.listed = [];
    return listed;
  }

  nextDeadline(): number | undefined {
    return this.allOffline ? undefined : this.checkFrom;
  }

  /** Every broker is down: no device's clock runs. */
  private get allOffline(): boolean {
    return this.offline.size > 0 && this.offline.size >= this.options.brokers.length;
  }

  get size(): number {
    return this.seen.size;
  }

  /** The broker a listed device last published on. */
  brokerOf(id: string): string | undefined {
    return this.seen.get(id)?.broker;
  }

  /** Online while it publishes; offline once idle (listed for the grace period). */
  statusOf(id: string): DeviceStatus | undefined {
    const entry = this.seen.get(id);
    return entry === undefined ? undefined : entry.idle ? "offline" : "online";
  }

  list(): DiscoveredDevice[] {
    // Device objects are never changed once listed (a change replaces them), so sent lists can share them.
    return sortDevices([...this.seen.values()].map((e) => e.device));
  }
}
