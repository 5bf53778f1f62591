import type { Registry } from "prom-client";
import { metricFactory } from "../metrics.js";
import type { BrokerConnection } from "./connection.js";

/*
 * Broker connections, counted: how many are open and online, connects and failures, our
 * publishes that failed or never came back, and messages received by kind (the kind is
 * whatever the caller's classifier says, e.g. the Sparkplug message type).
 */

export class ConnectionMetrics {
  private readonly messages;
  private readonly connections;
  private readonly connectionsOnline;
  private readonly connects;
  private readonly connectFailures;
  private readonly publishFailures;
  private readonly publishesNotDelivered;
  private readonly dottedTopicsRejected;
  private readonly watched = new Set<BrokerConnection>();
  /** What each connection's own counters stood at when last brought into the registry. */
  private readonly synced = new WeakMap<
    BrokerConnection,
    { failures: number; dotted: number; notDelivered: Map<string, number> }
  >();

  constructor(
    registry: Registry,
    private readonly classify: (topic: string) => string,
  ) {
    const { counter, gauge } = metricFactory(registry);
    this.messages = counter("messages_total", "MQTT messages received, by Sparkplug message type", ["type"]);
    this.connections = gauge("broker_connections", "Open broker connections");
    this.connectionsOnline = gauge("broker_connections_online", "Broker connections currently online");
    gauge("broker_connected", "1 while the connection to a broker is online, by broker", ["broker"], (g) => {
      g.reset();
      for (const connection of this.watched) g.set({ broker: connection.uri }, connection.isOnline ? 1 : 0);
    });
    this.connects = counter("broker_connects_total", "Successful broker connects");
    this.connectFailures = counter("broker_connect_failures_total", "Failed broker connection attempts");
    this.publishFailures = counter("publish_failures_total", "Publishes (rebirth, STATE) that failed");
    this.publishesNotDelivered = counter(
      "publishes_not_delivered_total",
      "Our publishes (rebirth, STATE) the broker accepted but never delivered back to us (an ACL?)",
      ["purpose"],
    );
    this.dottedTopicsRejected = counter(
      "broker_dotted_topics_rejected_total",
      "Brokers found to reject the topics we need for containing '.' (NATS's MQTT: no Sparkplug), each told once",
    );
  }

  /** Starts counting a broker connection's traffic (once per connection, however many streams share it). */
  watch(connection: BrokerConnection): void {
    this.watched.add(connection);
    this.connections.set(this.watched.size);
    connection.messages$.subscribe({
      next: (message) => this.messages.inc({ type: this.classify(message.topic) }),
      complete: () => {
        this.sync(connection);
        this.watched.delete(connection);
        this.connections.set(this.watched.size);
      },
    });
    let wasOnline = false;
    connection.status$.subscribe((status) => {
      if (status.kind === "online") this.connects.inc();
      else if (status.kind === "offline" && !wasOnline && status.error !== "closed")
        this.connectFailures.inc();
      wasOnline = status.kind === "online";
      this.connectionsOnline.set([...this.watched].filter((c) => c.isOnline).length);
    });
  }

  /** Brings the counters each connection keeps into the registry (before a scrape). */
  syncAll(): void {
    for (const connection of this.watched) this.sync(connection);
  }

  private sync(connection: BrokerConnection): void {
    const seen = this.synced.get(connection) ?? {
      failures: 0,
      dotted: 0,
      notDelivered: new Map<string, number>(),
    };
    const failures = connection.stats.publishFailures;
    if (failures > seen.failures) this.publishFailures.inc(failures - seen.failures);
    seen.failures = failures;
    const dotted = connection.stats.dottedTopicsRejected;
    if (dotted > seen.dotted) this.dottedTopicsRejected.inc(dotted - seen.dotted);
    seen.dotted = dotted;
    for (const [purpose, count] of connection.stats.notDelivered) {
      const before = seen.notDelivered.get(purpose) ?? 0;
      if (count > before) this.publishesNotDelivered.inc({ purpose }, count - before);
      seen.notDelivered.set(purpose, count);
    }
    this.synced.set(connection, seen);
  }
}
