import { type Counter, collectDefaultMetrics, Registry } from "prom-client";
import { metricFactory } from "../metrics.js";
import type { DeviceSnapshot, DeviceView } from "./device-view.js";
import { GenericDeviceView } from "./generic-device-view.js";

/*
 * The monitor's Prometheus metrics: one gauge sample per numeric or boolean device metric
 * (labelled with group, node, device and metric; generic devices with topic and field),
 * read from the device view at scrape time, plus the monitor's own counters.
 */

function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "boolean") return Number(value);
  // 64-bit values arrive as decimal strings in the snapshot.
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

const PREFIX = "akri_mqtt_monitor_";

export class MonitorMetrics {
  readonly registry = new Registry();
  readonly messages: Counter;
  readonly decodeErrors: Counter;
  readonly commands: Counter;
  readonly rejected: Counter;
  /** The view's snapshot for the scrape under way: every gauge reads the same one. */
  private scraped: DeviceSnapshot | undefined;

  constructor(private readonly view: DeviceView) {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    const { counter, gauge } = metricFactory(this.registry, PREFIX);
    this.messages = counter("messages_total", "MQTT messages received for the device");
    this.decodeErrors = counter("decode_errors_total", "Payloads that could not be decoded");
    this.rejected = counter(
      "messages_rejected_total",
      "Messages skipped because their payload exceeds MONITOR_MAX_PAYLOAD_BYTES",
    );
    this.commands = counter("commands_total", "POST /command requests, by result", ["result"]);
    const snapshot = () => this.scraped ?? view.snapshot();
    const flag = (name: string, help: string, read: (s: DeviceSnapshot) => boolean) =>
      gauge(name, help, [], (g) => g.set(read(snapshot()) ? 1 : 0));
    flag("device_online", "1 while the device is online, 0 otherwise", (s) => s.status === "online");
    flag("broker_connected", "1 while the monitor is connected to the broker", (s) => s.broker.connected);
    if (view instanceof GenericDeviceView) {
      gauge(
        "topic_value",
        "The numeric value (or JSON field) last published on a topic of the device",
        ["device", "topic", "field"],
        (g) => {
          g.reset();
          const id = snapshot().id;
          for (const { topic, field, value } of view.numericValues())
            g.set({ device: id, topic, field }, value);
        },
      );
    } else {
      gauge(
        "metric_value",
        "The current value of each numeric or boolean Sparkplug metric of the device (booleans as 0/1)",
        ["group", "node", "device", "metric"],
        (g) => {
          g.reset();
          const current = snapshot();
          for (const metric of current.metrics) {
            const value = numeric(metric.value);
            if (value === undefined) continue;
            g.set(
              {
                group: current.group ?? "",
                node: current.edgeNode ?? "",
                device: current.device ?? "",
                metric: metric.name,
              },
              value,
            );
          }
        },
      );
    }
  }

  async text(): Promise<string> {
    this.scraped = this.view.snapshot();
    try {
      return await this.registry.metrics();
    } finally {
      this.scraped = undefined;
    }
  }
}
