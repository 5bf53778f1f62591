import { dataTypeName } from "../sparkplug/datatype.js";
import type { HostSession } from "../sparkplug/host/host-session.js";
import type { Device, EdgeNode } from "../sparkplug/host/model.js";
import type { HostStep } from "../sparkplug/host/step.js";
import { valueToJson } from "../sparkplug/json.js";
import type { MetricTable } from "../sparkplug/metric-table.js";
import type { EdgeTopic, SparkplugTopic } from "../sparkplug/topic.js";
import {
  ChangeListeners,
  type DeviceChange,
  type DeviceSnapshot,
  type DeviceStatus,
  type DeviceView,
  MetricHistory,
  type MetricSnapshot,
} from "./device-view.js";
import type { MonitoredDevice } from "./monitor-config.js";

type SparkplugDevice = Extract<MonitoredDevice, { mode: "sparkplug" }>;

/**
 * One Sparkplug device (or edge node) as the host session sees it: the session keeps the
 * birth table and, with `trackValues`, every metric's current value; this view adds the
 * history and turns each step into changes for the page.
 */
export class SparkplugDeviceView implements DeviceView {
  private readonly listeners = new ChangeListeners();
  private readonly history = new MetricHistory();
  private messages = 0;
  private lastMessageAt: number | undefined;
  private connected = false;
  private brokerUrl: string | undefined;
  private lastStatus = "";

  constructor(
    private readonly device: SparkplugDevice,
    private readonly session: HostSession,
    private readonly commandsEnabled: boolean,
  ) {}

  onChange(listener: (change: DeviceChange) => void): () => void {
    return this.listeners.add(listener);
  }

  /** The edge topic of a processed message, if it concerns this device. */
  private ours(topic: SparkplugTopic): EdgeTopic | undefined {
    const edge =
      topic.kind === "certificate"
        ? topic.birth
        : topic.kind === "node" || topic.kind === "device"
          ? topic
          : undefined;
    if (!edge || edge.group !== this.device.group || edge.edge !== this.device.edge) return undefined;
    if (edge.verb === "NCMD" || edge.verb === "DCMD") return undefined;
    if (edge.kind === "device" && edge.device !== this.device.device) return undefined;
    return edge;
  }

  private isOwnBirth(edge: EdgeTopic): boolean {
    return this.device.device === undefined ? edge.verb === "NBIRTH" : edge.verb === "DBIRTH";
  }

  private isOwnData(edge: EdgeTopic): boolean {
    return this.device.device === undefined ? edge.verb === "NDATA" : edge.verb === "DDATA";
  }

  /** Applies what one host session step did. */
  apply(step: HostStep): void {
    for (const processed of step.processed) {
      const edge = this.ours(processed.topic);
      if (!edge) continue;
      this.messages++;
      this.lastMessageAt = processed.message.at;
      const payload = processed.payload;
      if (!payload) continue;
      if (this.isOwnBirth(edge)) {
        for (const metric of payload.metrics) {
          if (metric.name === undefined) continue;
          this.history.add(
            metric.name,
            metric.timestamp ?? payload.timestamp ?? processed.message.at,
            metric.value,
          );
        }
        this.listeners.emit({ kind: "state" });
      } else if (this.isOwnData(edge)) {
        const table = this.table();
        for (const metric of payload.metrics) {
          // Only the birth's metrics are shown (and kept): anything else is a protocol problem
          // the host session already reports, and must not grow memory.
          const definition = table?.resolve(metric.alias, metric.name);
          if (!definition) continue;
          const name = definition.name;
          const timestamp = metric.timestamp ?? payload.timestamp ?? processed.message.at;
          const point = this.history.add(name, timestamp, metric.value);
          if (metric.isHistorical) continue;
          this.listeners.emit({
            kind: "metric",
            name,
            value: valueToJson(metric.value),
            datatype: dataTypeName(definition.datatype),
            timestamp,
            point,
          });
        }
      }
    }
    this.checkStatus();
  }

  /** The broker connection came or went. */
  setConnected(connected: boolean, url: string | undefined): void {
    this.connected = connected;
    if (url !== undefined) this.brokerUrl = url;
    this.checkStatus();
  }

  private checkStatus(): void {
    const { status, stale } = this.status();
    const key = `${status}/${stale}/${this.connected}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.listeners.emit({ kind: "status", status, stale, connected: this.connected });
  }

  private entities(): { node: EdgeNode | undefined; device: Device | undefined } {
    const node = this.session.node(this.device.group, this.device.edge);
    const device = this.device.device === undefined ? undefined : node?.devices.get(this.device.device);
    return { node, device };
  }

  private table(): MetricTable | undefined {
    const { node, device } = this.entities();
    return this.device.device === undefined ? node?.birth?.metrics : device?.birth?.metrics;
  }

  private status(): { status: DeviceStatus; stale: boolean } {
    const { node, device } = this.entities();
    const entity = this.device.device === undefined ? node : device;
    if (!entity) return { status: "unknown", stale: false };
    return { status: entity.status, stale: entity.stale || (node?.stale ?? false) };
  }

  snapshot(): DeviceSnapshot {
    const { node, device } = this.entities();
    const entity = this.device.device === undefined ? node : device;
    const { status, stale } = this.status();
    const table = this.table();
    const metrics: MetricSnapshot[] = [];
    if (table) {
      for (const { definition, alias, value } of table.entries()) {
        metrics.push({
          name: definition.name,
          alias: alias?.toString(),
          datatype: dataTypeName(definition.datatype),
          value: value === undefined ? null : valueToJson(value),
          timestamp:
            table.timestampOf(definition.name) ?? entity?.birth?.timestamp ?? entity?.birth?.receivedAt,
          stale: status !== "online" || stale,
          history: this.history.of(definition.name),
        });
      }
    }
    return {
      id: this.device.id,
      mode: "sparkplug",
      group: this.device.group,
      edgeNode: this.device.edge,
      ...(this.device.device === undefined ? {} : { device: this.device.device }),
      status,
      stale,
      birthAt: entity?.birth?.timestamp ?? entity?.birth?.receivedAt,
      birthSource: entity?.birth?.source,
      diedAt: entity?.diedAt,
      lastMessageAt: this.lastMessageAt,
      messages: this.messages,
      broker: { connected: this.connected, url: this.brokerUrl, on: this.entities().node?.broker },
      commandsEnabled: this.commandsEnabled,
      metrics,
    };
  }

  /** The birth table of the device, for commands. */
  birthTable(): MetricTable | undefined {
    return this.table();
  }
}
