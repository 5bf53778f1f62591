import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { EngineOutput } from "../discovery/engine.js";
import type { BrokerConnection } from "../mqtt/connection.js";
import { isProblem } from "../sparkplug/host/describe.js";
import { CERTIFICATES_PREFIX, NAMESPACE, verbKind } from "../sparkplug/topic.js";

/*
 * Prometheus metrics of the handler (served on /metrics): what arrives, what the host
 * model made of it, what went to the agent, and what went wrong. Each bad input has a
 * counter next to its log line.
 */

export class HandlerMetrics {
  readonly registry = new Registry();
  private readonly counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: `akri_mqtt_${name}`, help, labelNames, registers: [this.registry] });
  private readonly gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name: `akri_mqtt_${name}`, help, labelNames, registers: [this.registry] });

  readonly messages = this.counter("messages_total", "MQTT messages received, by Sparkplug message type", [
    "type",
  ]);
  readonly decodeErrors = this.counter("decode_errors_total", "Sparkplug payloads that could not be decoded");
  readonly births = this.counter("births_total", "Edge node and device births", ["entity", "source"]);
  readonly deaths = this.counter("deaths_total", "Edge node and device deaths", ["entity", "reason"]);
  readonly staleDeaths = this.counter("stale_deaths_ignored_total", "NDEATHs of an earlier session, ignored");
  readonly seqGaps = this.counter("seq_gaps_total", "Sequence number gaps detected");
  readonly reordersHealed = this.counter(
    "reorder_healed_total",
    "Sequence gaps filled within the reorder timeout",
  );
  readonly rebirths = this.counter("rebirths_requested_total", "Rebirth requests sent", ["reason"]);
  readonly rebirthsObserved = this.counter(
    "rebirths_observed_total",
    "Rebirth requests seen on the broker (ours and other hosts')",
  );
  readonly rejected = this.counter(
    "messages_rejected_total",
    "Messages skipped before decoding (payload larger than maxPayloadBytes)",
    ["reason"],
  );
  readonly problems = this.counter("protocol_problems_total", "Protocol problems in received traffic", [
    "kind",
  ]);
  readonly devices = this.gauge("devices", "Devices listed by active Discover streams, by status", [
    "status",
  ]);
  readonly streams = this.gauge("discover_streams", "Open Discover streams");
  readonly streamsTotal = this.counter("discover_streams_total", "Discover calls accepted");
  readonly invalidArguments = this.counter(
    "discover_invalid_arguments_total",
    "Discover calls refused with INVALID_ARGUMENT",
  );
  readonly listsSent = this.counter("device_lists_sent_total", "DiscoverResponses sent");
  readonly listsSkipped = this.counter(
    "device_lists_superseded_total",
    "Lists replaced by a newer one before the agent read them",
  );
  readonly overflows = this.counter(
    "list_overflows_total",
    "Lists cut to fit the agent's 4 MiB message limit",
  );
  readonly overflowCut = this.counter(
    "list_overflow_devices_cut_total",
    "Devices cut from lists to fit 4 MiB",
  );
  readonly collisions = this.counter(
    "instance_hash_collisions_total",
    "Discovered ids whose Akri instance hashes collide",
  );
  readonly registrations = this.counter("registrations_total", "Registrations with the Akri agent", [
    "result",
  ]);
  readonly connections = this.gauge("broker_connections", "Open broker connections");
  readonly connectionsOnline = this.gauge("broker_connections_online", "Broker connections currently online");
  readonly connects = this.counter("broker_connects_total", "Successful broker connects");
  readonly connectFailures = this.counter(
    "broker_connect_failures_total",
    "Failed broker connection attempts",
  );
  readonly publishFailures = this.counter("publish_failures_total", "Publishes (rebirth, STATE) that failed");
  readonly publishesNotDelivered = this.counter(
    "publishes_not_delivered_total",
    "Our publishes (rebirth, STATE) the broker accepted but never delivered back to us (an ACL?)",
    ["purpose"],
  );

  private readonly connectionList = new Set<BrokerConnection>();

  private readonly publishFailuresSeen = new WeakMap<BrokerConnection, number>();
  private readonly notDeliveredSeen = new WeakMap<BrokerConnection, Map<string, number>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "akri_mqtt_" });
  }

  /** Counts what one engine step reports. */
  observe(output: EngineOutput): void {
    for (const event of output.hostEvents) {
      switch (event.kind) {
        case "node-born":
          this.births.inc({ entity: "node", source: event.source });
          break;
        case "device-born":
          this.births.inc({ entity: "device", source: event.source });
          break;
        case "node-died":
          this.deaths.inc({ entity: "node", reason: event.reason });
          break;
        case "device-died":
          this.deaths.inc({ entity: "device", reason: event.reason });
          break;
        case "stale-death-ignored":
          this.staleDeaths.inc();
          break;
        case "seq-gap":
          this.seqGaps.inc();
          break;
        case "reorder-healed":
          this.reordersHealed.inc();
          break;
        case "rebirth-requested":
          this.rebirths.inc({ reason: event.reason });
          break;
        case "rebirth-observed":
          this.rebirthsObserved.inc();
          break;
        case "decode-error":
          this.decodeErrors.inc();
          break;
        default:
          // Every other protocol problem, by kind (the ones above have counters of their own).
          if (isProblem(event)) this.problems.inc({ kind: event.kind });
      }
    }
    for (const rejected of output.rejected) this.rejected.inc({ reason: rejected.reason });
    for (const event of output.presenceEvents) {
      if (event.kind === "retained-ignored" || event.kind === "unmatched-topic")
        this.problems.inc({ kind: event.kind });
    }
  }

  /** Starts counting a broker connection's traffic (once per connection, however many streams share it). */
  watchConnection(connection: BrokerConnection): void {
    this.connectionList.add(connection);
    this.connections.set(this.connectionList.size);
    connection.messages$.subscribe({
      next: (message) => this.messages.inc({ type: messageType(message.topic) }),
      complete: () => {
        this.syncConnection(connection);
        this.connectionList.delete(connection);
        this.connections.set(this.connectionList.size);
      },
    });
    let wasOnline = false;
    connection.status$.subscribe((status) => {
      if (status.kind === "online") this.connects.inc();
      else if (status.kind === "offline" && !wasOnline && status.error !== "closed")
        this.connectFailures.inc();
      wasOnline = status.kind === "online";
      this.connectionsOnline.set([...this.connectionList].filter((c) => c.isOnline).length);
    });
  }

  /** The exposition text; connection counters are brought up to date first. */
  async text(): Promise<string> {
    for (const connection of this.connectionList) this.syncConnection(connection);
    return this.registry.metrics();
  }

  /** Brings the counters kept by a connection into the registry. */
  private syncConnection(connection: BrokerConnection): void {
    const counted = this.publishFailuresSeen.get(connection) ?? 0;
    const now = connection.stats.publishFailures;
    if (now > counted) this.publishFailures.inc(now - counted);
    this.publishFailuresSeen.set(connection, now);
    const seen = this.notDeliveredSeen.get(connection) ?? new Map<string, number>();
    for (const [purpose, count] of connection.stats.notDelivered) {
      const before = seen.get(purpose) ?? 0;
      if (count > before) this.publishesNotDelivered.inc({ purpose }, count - before);
      seen.set(purpose, count);
    }
    this.notDeliveredSeen.set(connection, seen);
  }
}

/** The Sparkplug message type of a topic, cheaply: NBIRTH, DDATA, STATE, …, or "other". */
export function messageType(topic: string): string {
  if (topic.startsWith(`${NAMESPACE}/`)) {
    const verb = topic.split("/", 3)[2];
    if (verb === undefined) return "other";
    if (topic.startsWith(`${NAMESPACE}/STATE/`) && topic.split("/").length === 3) return "STATE";
    return verbKind(verb) === undefined ? "other" : verb;
  }
  if (topic.startsWith("STATE/")) return "STATE";
  if (topic.startsWith(CERTIFICATES_PREFIX)) return "CERTIFICATE";
  return "other";
}
