import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { DeviceView } from "./device-view.js";
import type { GenericDeviceView } from "./generic-device-view.js";

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

export class MonitorMetrics {
  readonly registry = new Registry();
  readonly messages: Counter;
  readonly decodeErrors: Counter;
  readonly commands: Counter;
  readonly rejected: Counter;

  constructor(view: DeviceView, generic?: GenericDeviceView) {
    collectDefaultMetrics({ register: this.registry, prefix: "akri_mqtt_monitor_" });
    this.messages = new Counter({
      name: "akri_mqtt_monitor_messages_total",
      help: "MQTT messages received for the device",
      registers: [this.registry],
    });
    this.decodeErrors = new Counter({
      name: "akri_mqtt_monitor_decode_errors_total",
      help: "Payloads that could not be decoded",
      registers: [this.registry],
    });
    this.rejected = new Counter({
      name: "akri_mqtt_monitor_messages_rejected_total",
      help: "Messages skipped because their payload exceeds MONITOR_MAX_PAYLOAD_BYTES",
      registers: [this.registry],
    });
    this.commands = new Counter({
      name: "akri_mqtt_monitor_commands_total",
      help: "POST /command requests, by result",
      labelNames: ["result"],
      registers: [this.registry],
    });
    new Gauge({
      name: "akri_mqtt_monitor_device_online",
      help: "1 while the device is online, 0 otherwise",
      registers: [this.registry],
      collect() {
        this.set(view.snapshot().status === "online" ? 1 : 0);
      },
    });
    new Gauge({
      name: "akri_mqtt_monitor_broker_connected",
      help: "1 while the monitor is connected to the broker",
      registers: [this.registry],
      collect() {
        this.set(view.snapshot().broker.connected ? 1 : 0);
      },
    });
    if (generic) {
      new Gauge({
        name: "akri_mqtt_monitor_topic_value",
        help: "The numeric value (or JSON field) last published on a topic of the device",
        labelNames: ["device", "topic", "field"],
        registers: [this.registry],
        collect() {
          this.reset();
          const id = view.snapshot().id;
          for (const { topic, field, value } of generic.numericValues())
            this.set({ device: id, topic, field }, value);
        },
      });
    } else {
      new Gauge({
        name: "akri_mqtt_monitor_metric_value",
        help: "The current value of each numeric or boolean Sparkplug metric of the device (booleans as 0/1)",
        labelNames: ["group", "node", "device", "metric"],
        registers: [this.registry],
        collect() {
          this.reset();
          const snapshot = view.snapshot();
          for (const metric of snapshot.metrics) {
            const value = numeric(metric.value);
            if (value === undefined) continue;
            this.set(
              {
                group: snapshot.group ?? "",
                node: snapshot.edgeNode ?? "",
                device: snapshot.device ?? "",
                metric: metric.name,
              },
              value,
            );
          }
        },
      });
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
