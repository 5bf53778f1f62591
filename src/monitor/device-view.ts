import type { Json } from "../sparkplug/json.js";

/*
 * What the monitor shows of its device: status, birth, and every metric with its current
 * value, timestamp, stale flag and recent history (for the page's sparklines). Views
 * announce changes to listeners (the /events stream).
 */

export type DeviceStatus = "online" | "offline" | "unknown";

export interface MetricSnapshot {
  name: string;
  alias: string | undefined;
  datatype: string;
  value: Json;
  /** ms since the epoch: the metric's own timestamp, else the payload's. */
  timestamp: number | undefined;
  /** The device is offline or its state is unconfirmed: the value may be old. */
  stale: boolean;
  /** Recent numeric (and boolean, as 0/1) values: [timestamp ms, value]. */
  history: [number, number][];
}

export interface DeviceSnapshot {
  id: string;
  mode: "sparkplug" | "generic";
  group?: string;
  edgeNode?: string;
  device?: string;
  topic?: string;
  status: DeviceStatus;
  stale: boolean;
  birthAt: number | undefined;
  /** Where the birth came from: live, certificate (the broker's or our saved copy), retained. */
  birthSource: string | undefined;
  diedAt: number | undefined;
  lastMessageAt: number | undefined;
  messages: number;
  /**
   * The connection (`url`: a listener we are connected to) and, with several brokers, where
   * the device is now (`on`: the broker its node lives on, or a generic device last published
   * on, as its serverUrls comma-joined). Its properties never say that: they must not change.
   */
  broker: { connected: boolean; url: string | undefined; on: string | undefined };
  commandsEnabled: boolean;
  metrics: MetricSnapshot[];
}

export type DeviceChange =
  /** The set of metrics changed (a birth): take the whole snapshot again. */
  | { kind: "state" }
  | {
      kind: "metric";
      name: string;
      value: Json;
      datatype: string;
      timestamp: number | undefined;
      /** The point added to the history, if the value is numeric. */
      point: [number, number] | undefined;
    }
  | { kind: "status"; status: DeviceStatus; stale: boolean; connected: boolean };

export interface DeviceView {
  snapshot(): DeviceSnapshot;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  onChange(listener: (change: DeviceChange) => void): () => void;
}

const HISTORY = 240;

/** Bounded per-metric histories, kept in timestamp order. */
export class MetricHistory {
  private readonly series = new Map<string, [number, number][]>();

  /** Adds a point if the value is numeric or boolean; returns it. */
  add(name: string, timestamp: number, value: unknown): [number, number] | undefined {
    const y =
      typeof value === "number"
        ? value
        : typeof value === "boolean"
          ? Number(value)
          : typeof value === "bigint"
            ? Number(value)
            : undefined;
    if (y === undefined || !Number.isFinite(y)) return undefined;
    let points = this.series.get(name);
    if (!points) {
      points = [];
      this.series.set(name, points);
    }
    const point: [number, number] = [timestamp, y];
    // Usually appended; a historical (back-filled) value goes to its place.
    let at = points.length;
    while (at > 0 && points[at - 1]![0] > timestamp) at--;
    points.splice(at, 0, point);
    if (points.length > HISTORY) points.splice(0, points.length - HISTORY);
    return point;
  }

  of(name: string): [number, number][] {
    return this.series.get(name)?.slice() ?? [];
  }
}

/** Listener bookkeeping shared by the views. */
export class ChangeListeners {
  private readonly listeners = new Set<(change: DeviceChange) => void>();

  add(listener: (change: DeviceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: DeviceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
