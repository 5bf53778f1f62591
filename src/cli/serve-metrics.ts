import { collectDefaultMetrics, Registry } from "prom-client";
import { HandlerMetrics } from "../akri/handler-metrics.js";
import { DiscoveryMetrics } from "../discovery/discovery-metrics.js";
import { ConnectionMetrics } from "../mqtt/connection-metrics.js";
import { messageType } from "../sparkplug/message-type.js";

/** The handler's /metrics: the process, its broker connections, its discoveries and its Akri streams. */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly handler: HandlerMetrics;
  readonly discovery: DiscoveryMetrics;
  readonly connections: ConnectionMetrics;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "akri_mqtt_" });
    this.connections = new ConnectionMetrics(this.registry, messageType);
    this.discovery = new DiscoveryMetrics(this.registry);
    this.handler = new HandlerMetrics(this.registry);
  }

  /** The exposition text; connection counters are brought up to date first. */
  async text(): Promise<string> {
    this.connections.syncAll();
    return this.registry.metrics();
  }
}
