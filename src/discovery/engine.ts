import { GenericPresence, type PresenceEvent } from "../generic/presence.js";
import type { MqttMessage } from "../mqtt/message.js";
import { topicMatcher } from "../mqtt/topic-filter.js";
import type { HostCommand, HostEvent } from "../sparkplug/host/events.js";
import { HostSession } from "../sparkplug/host/host-session.js";
import { type HostOptions, hostOptions } from "../sparkplug/host/options.js";
import { earlier } from "../time/deadline.js";
import type { DiscoveryDetails } from "./details.js";
import { type DiscoveredDevice, InstanceHashes, sameAkriDevice } from "./device.js";
import { defaultEmitterTiming, type EmitterTiming, ListEmitter } from "./list-emitter.js";
import { SparkplugInventory } from "./sparkplug-inventory.js";
import { subscriptionsFor } from "./subscriptions.js";

/*
 * One discovery as a reducer: MQTT messages, the broker connection and the passing of time
 * in; device lists (when due and different), host commands and events out. Sparkplug mode
 * runs the host session model and its inventory; generic mode the presence reducer. The
 * RxJS pipeline (streams/discovery-pipeline.ts) only feeds it and schedules its deadlines,
 * live or on virtual time, which is what makes replay deterministic.
 */

export type EngineInput =
  | { kind: "message"; message: MqttMessage }
  | { kind: "online"; broker: string; willTimestamp: number }
  | { kind: "offline"; broker: string }
  | { kind: "tick" }
  | { kind: "shutdown" };

/** A device list to send: the full current list, sorted by id. */
export interface DeviceListEmission {
  at: number;
  devices: DiscoveredDevice[];
  /**
   * Pairs of ids whose 24-bit Akri instance hashes collide (one would hide the other);
   * computed on demand, after the list is on its way (hashing thousands of new ids takes a while).
   */
  collisions: () => [string, string][];
}

/** A message skipped before any decoding. */
export interface RejectedMessage {
  reason: "payload-too-large";
  topic: string;
  bytes: number;
  limit: number;
}

export interface EngineOutput {
  emissions: DeviceListEmission[];
  commands: HostCommand[];
  hostEvents: HostEvent[];
  presenceEvents: PresenceEvent[];
  rejected: RejectedMessage[];
}

export interface EngineOptions {
  /** The per-pod STATE host id (details.sparkplug.hostId plus the pod suffix). */
  hostId: string;
  random?: () => number;
  timing?: EmitterTiming;
  /** Publish STATE (default: as the details say). */
  publishState?: boolean;
  /** Called for each device as it is listed (the Akri layer pre-encodes it). */
  onListed?: (device: DiscoveredDevice) => void;
  /** Host model timings that discoveryDetails does not expose. */
  host?: Partial<Pick<HostOptions, "deviceRebirthSettleMs" | "staleTimeoutMs" | "unprovenGraceMs">>;
}

function emptyOutput(): EngineOutput {
  return { emissions: [], commands: [], hostEvents: [], presenceEvents: [], rejected: [] };
}

function sameList(a: readonly DiscoveredDevice[], b: readonly DiscoveredDevice[]): boolean {
  return a.length === b.length && a.every((device, i) => sameAkriDevice(device, b[i]!));
}

export class DiscoveryEngine {
  readonly session: HostSession | undefined;
  private readonly inventory: SparkplugInventory | undefined;
  private readonly presence: GenericPresence | undefined;
  private readonly emitter: ListEmitter;
  private readonly filters: string[];
  private readonly matchers: ((topic: string) => boolean)[];
  private seenVersion = 0;
  private lastSent: DiscoveredDevice[] | undefined;
  private readonly hashes = new InstanceHashes();

  constructor(
    readonly details: DiscoveryDetails,
    options: EngineOptions,
  ) {
    this.emitter = new ListEmitter(options.timing ?? defaultEmitterTiming);
    const publishState =
      details.mode === "sparkplug" && (options.publishState ?? details.sparkplug.publishState);
    this.filters = subscriptionsFor(details, publishState ? options.hostId : undefined);
    // Work each new device will need when lists go out is done as it is listed, not all at
    // once when the list is sent: its instance hash here, its wire encoding by the caller.
    const onListed = (device: DiscoveredDevice) => {
      this.hashes.add(device.id);
      options.onListed?.(device);
    };
    this.matchers = this.filters.map(topicMatcher);
    if (details.mode === "sparkplug") {
      const sp = details.sparkplug;
      this.session = new HostSession(
        hostOptions({
          hostId: options.hostId,
          publishState: options.publishState ?? sp.publishState,
          rebirth: sp.rebirth,
          birthValues:
            sp.birthMetrics.length > 0 || Object.keys(sp.properties).length > 0 ? "scalars" : "none",
          ...options.host,
        }),
        options.random,
      );
      this.inventory = new SparkplugInventory({
        serverUrls: details.serverUrls,
        sparkplug: sp,
        offlineGraceSeconds: details.offlineGraceSeconds,
        onListed,
      });
    } else {
      this.presence = new GenericPresence({
        topics: details.topics,
        deviceId: details.deviceId,
        idleTimeoutSeconds: details.idleTimeoutSeconds,
        offlineGraceSeconds: details.offlineGraceSeconds,
        serverUrls: details.serverUrls,
        onListed,
      });
    }
  }

  /** Is a message on `topic` one of ours? (A shared connection brings other discoveries' topics too.) */
  private wanted(topic: string): boolean {
    for (const matches of this.matchers) if (matches(topic)) return true;
    return false;
  }

  /** The MQTT topic filters this discovery subscribes to. */
  get subscriptions(): readonly string[] {
    return this.filters;
  }

  /** Starts the clock for the first list. */
  start(now: number): void {
    this.emitter.start(now);
  }

  step(input: EngineInput, now: number): EngineOutput {
    const out = emptyOutput();
    switch (input.kind) {
      case "message":
        if (!this.wanted(input.message.topic)) break;
        if (input.message.payload.byteLength > this.details.maxPayloadBytes) {
          out.rejected.push({
            reason: "payload-too-large",
            topic: input.message.topic,
            bytes: input.message.payload.byteLength,
            limit: this.details.maxPayloadBytes,
          });
          break;
        }
        if (this.session) this.hostStep(out, input, now);
        else {
          const event = this.presence!.onMessage(input.message, now);
          if (event) out.presenceEvents.push(event);
        }
        break;
      case "online":
        this.emitter.online(now);
        if (this.session)
          this.hostStep(
            out,
            { kind: "broker-online", broker: input.broker, willTimestamp: input.willTimestamp },
            now,
          );
        else this.presence!.onOnline(now);
        break;
      case "offline":
        if (this.session) this.hostStep(out, { kind: "broker-lost", broker: input.broker }, now);
        else this.presence!.onOffline(now);
        break;
      case "shutdown":
        if (this.session) this.hostStep(out, input, now);
        break;
      case "tick":
        break;
    }
    this.runTimers(out, now);
    return out;
  }

  private hostStep(out: EngineOutput, input: Parameters<HostSession["step"]>[0], now: number): void {
    const step = this.session!.step(input, now);
    out.commands.push(...step.commands);
    out.hostEvents.push(...step.events);
    this.inventory!.apply(step.events, this.session!.nodes, now);
  }

  /** Host timers, grace expiry and list emission due at `now`. */
  private runTimers(out: EngineOutput, now: number): void {
    if (this.session) {
      const deadline = this.session.nextDeadline();
      if (deadline !== undefined && deadline <= now) this.hostStep(out, { kind: "tick" }, now);
      this.inventory!.expire(now);
    } else {
      out.presenceEvents.push(...this.presence!.expire(now));
    }
    const version = this.inventory?.version ?? this.presence!.version;
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.emitter.changed(now);
    }
    if (this.emitter.due(now)) {
      const devices = this.currentDevices();
      if (this.lastSent === undefined || !sameList(devices, this.lastSent)) {
        this.lastSent = devices;
        out.emissions.push({ at: now, devices, collisions: () => this.hashes.collisions(devices) });
      }
    }
  }

  /** The earliest time `step({kind: "tick"})` has something to do. */
  nextDeadline(): number | undefined {
    const hosts = earlier(this.session?.nextDeadline(), this.inventory?.nextDeadline());
    return earlier(earlier(hosts, this.presence?.nextDeadline()), this.emitter.nextDeadline());
  }

  /** The current list, whether or not it was sent. */
  currentDevices(): DiscoveredDevice[] {
    return this.inventory?.list() ?? this.presence!.list();
  }
}
