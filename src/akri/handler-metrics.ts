import type { Registry } from "prom-client";
import { metricFactory } from "../metrics.js";

/*
 * The Akri side of the handler's Prometheus metrics (served on /metrics): Discover streams,
 * the lists sent on them and what became of them, registrations with the agent, and what
 * the HTTP side refused. What arrives from brokers and what discoveries make of it count
 * themselves in the same registry.
 */

export class HandlerMetrics {
  readonly devices;
  readonly devicesOnBrokers;
  readonly devicesByConfigurationGauge;
  readonly listDevices;
  readonly listBytes;
  readonly streams;
  readonly streamsTotal;
  readonly invalidArguments;
  readonly listsSent;
  readonly listsSkipped;
  readonly overflows;
  readonly overflowCut;
  readonly collisions;
  readonly registrations;
  readonly httpRefused;
  readonly eventStreams;

  /** Where the device gauges read their counts at each scrape. */
  private devicesByStatus: () => Record<string, number> = () => ({});
  private devicesByBroker: () => Record<string, number> = () => ({});
  private devicesByConfiguration: () => { configuration: string; status: string; n: number }[] = () => [];

  constructor(registry: Registry) {
    const { counter, gauge } = metricFactory(registry);
    // Status is read from the discoveries' models when scraped, not when a list was sent.
    this.devices = gauge(
      "devices",
      "Devices listed by active Discover streams, by status",
      ["status"],
      (g) => {
        for (const [status, n] of Object.entries(this.devicesByStatus())) g.set({ status }, n);
      },
    );
    this.devicesOnBrokers = gauge(
      "devices_by_broker",
      "Devices listed by active Discover streams, by the broker they live on",
      ["broker"],
      (g) => {
        g.reset();
        for (const [broker, n] of Object.entries(this.devicesByBroker())) g.set({ broker }, n);
      },
    );
    this.devicesByConfigurationGauge = gauge(
      "configuration_devices",
      "Devices listed by active Discover streams, by Configuration and status",
      ["configuration", "status"],
      (g) => {
        g.reset();
        for (const { configuration, status, n } of this.devicesByConfiguration())
          g.set({ configuration, status }, n);
      },
    );
    this.listDevices = gauge("device_list_devices", "Devices in the last list sent, by Configuration", [
      "configuration",
    ]);
    this.listBytes = gauge("device_list_bytes", "Size of the last DiscoverResponse sent, by Configuration", [
      "configuration",
    ]);
    this.streams = gauge("discover_streams", "Open Discover streams");
    this.streamsTotal = counter("discover_streams_total", "Discover calls accepted");
    this.invalidArguments = counter(
      "discover_invalid_arguments_total",
      "Discover calls refused with INVALID_ARGUMENT",
    );
    this.listsSent = counter("device_lists_sent_total", "DiscoverResponses sent");
    this.listsSkipped = counter(
      "device_lists_superseded_total",
      "Lists replaced by a newer one before the agent read them",
    );
    this.overflows = counter("list_overflows_total", "Lists cut to fit the agent's 4 MiB message limit");
    this.overflowCut = counter("list_overflow_devices_cut_total", "Devices cut from lists to fit 4 MiB");
    this.collisions = counter(
      "instance_hash_collisions_total",
      "Discovered ids whose Akri instance hashes collide",
    );
    this.registrations = counter("registrations_total", "Registrations with the Akri agent", ["result"]);
    this.httpRefused = counter(
      "http_refused_total",
      "HTTP requests refused: the inventory asked for from off the pod's loopback (not_loopback) or by a name that is not ours (host), or no room for another event stream (event_streams_full)",
      ["reason"],
    );
    this.eventStreams = gauge("http_event_streams", "Open /events (Server-Sent Events) clients");
  }

  /** Reads the device gauges' counts (by status, by broker) at each scrape. */
  countDevices(
    byStatus: () => Record<string, number>,
    byBroker: () => Record<string, number>,
    byConfiguration: () => { configuration: string; status: string; n: number }[] = () => [],
  ): void {
    this.devicesByStatus = byStatus;
    this.devicesByBroker = byBroker;
    this.devicesByConfiguration = byConfiguration;
  }
}
