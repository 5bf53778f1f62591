import { isUtf8 } from "node:buffer";
import type { MqttMessage } from "../mqtt/message.js";
import type { Json } from "../sparkplug/json.js";
import {
  ChangeListeners,
  type DeviceChange,
  type DeviceSnapshot,
  type DeviceView,
  MetricHistory,
  type MetricSnapshot,
} from "./device-view.js";
import type { MonitoredDevice } from "./monitor-config.js";

type GenericDevice = Extract<MonitoredDevice, { mode: "generic" }>;

/** A payload as a person wants to read it: JSON when it parses, else text, else base64 bytes. */
function payloadToJson(payload: Uint8Array): { value: Json; datatype: "JSON" | "Text" | "Bytes" } {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (isUtf8(bytes)) {
    const text = bytes.toString("utf8");
    const trimmed = text.trim();
    if (trimmed !== "") {
      try {
        return { value: JSON.parse(trimmed) as Json, datatype: "JSON" };
      } catch {
        // not JSON
      }
    }
    return { value: text, datatype: "Text" };
  }
  return { value: { base64: bytes.toString("base64") }, datatype: "Bytes" };
}

/** At most this many topics are kept per device (a "#" filter on a busy tree must not grow memory). */
const MAX_TOPICS = 1000;
/** Payloads shown in full up to this size; larger ones are summarised. */
const MAX_SHOWN_BYTES = 64 * 1024;

interface TopicEntry {
  value: Json;
  datatype: string;
  timestamp: number;
}

/**
 * A generic MQTT device: every topic under its filter, with the last payload of each. A
 * number (or a JSON object's numeric and boolean fields, as "topic field") also gets a
 * history, and a gauge in /metrics.
 */
export class GenericDeviceView implements DeviceView {
  private readonly listeners = new ChangeListeners();
  private readonly history = new MetricHistory();
  private readonly topics = new Map<string, TopicEntry>();
  private messages = 0;
  /** Messages on topics beyond MAX_TOPICS. */
  dropped = 0;
  private lastMessageAt: number | undefined;
  private connected = false;
  private brokerUrl: string | undefined;
  /** The broker it last published on (its serverUrls, comma-joined), with several brokers. */
  private lastBroker: string | undefined;

  constructor(private readonly device: GenericDevice) {}

  onChange(listener: (change: DeviceChange) => void): () => void {
    return this.listeners.add(listener);
  }

  apply(message: MqttMessage): void {
    this.messages++;
    this.lastMessageAt = message.at;
    if (message.broker !== undefined) this.lastBroker = message.broker;
    const isNew = !this.topics.has(message.topic);
    if (isNew && this.topics.size >= MAX_TOPICS) {
      this.dropped++;
      return;
    }
    const { value, datatype } =
      message.payload.byteLength > MAX_SHOWN_BYTES
        ? { value: { bytes: message.payload.byteLength, truncated: true } as Json, datatype: "Bytes" }
        : payloadToJson(message.payload);
    this.topics.set(message.topic, { value, datatype, timestamp: message.at });
    const point = this.history.add(message.topic, message.at, value);
    if (isNew) this.listeners.emit({ kind: "state" });
    else
      this.listeners.emit({
        kind: "metric",
        name: message.topic,
        value,
        datatype,
        timestamp: message.at,
        point,
      });
  }

  setConnected(connected: boolean, url: string | undefined): void {
    this.connected = connected;
    if (url !== undefined) this.brokerUrl = url;
    this.listeners.emit({ kind: "status", status: this.status(), stale: false, connected });
  }

  private status(): "online" | "unknown" {
    return this.topics.size > 0 ? "online" : "unknown";
  }

  /** Numeric readings for /metrics: the topic's own number, or its JSON fields. */
  *numericValues(): Generator<{ topic: string; field: string; value: number }> {
    for (const [topic, entry] of this.topics) {
      const v = entry.value;
      if (typeof v === "number" || typeof v === "boolean") yield { topic, field: "", value: Number(v) };
      else if (v !== null && typeof v === "object" && !Array.isArray(v))
        for (const [field, x] of Object.entries(v))
          if (typeof x === "number" || typeof x === "boolean") yield { topic, field, value: Number(x) };
    }
  }

  snapshot(): DeviceSnapshot {
    const metrics: MetricSnapshot[] = [...this.topics].map(([topic, entry]) => ({
      name: topic,
      alias: undefined,
      datatype: entry.datatype,
      value: entry.value,
      timestamp: entry.timestamp,
      stale: false,
      history: this.history.of(topic),
    }));
    return {
      id: this.device.id,
      mode: "generic",
      topic: this.device.topic,
      status: this.status(),
      stale: false,
      birthAt: undefined,
      birthSource: undefined,
      diedAt: undefined,
      lastMessageAt: this.lastMessageAt,
      messages: this.messages,
      broker: { connected: this.connected, url: this.brokerUrl, on: this.lastBroker },
      // Commands are Sparkplug DCMDs: a generic device takes none.
      commandsEnabled: false,
      metrics,
    };
  }
}
