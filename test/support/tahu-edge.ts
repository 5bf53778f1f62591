import { createRequire } from "node:module";
import type { Socket } from "node:net";

/*
 * An independent Sparkplug edge node for tests: Eclipse Tahu's `sparkplug-client`, driven
 * the way an application would drive it (births on every connect, rebirth on request).
 * Its known quirks stay as they are: bdSeq always 0, a QoS 0 Will, UInt64 bdSeq.
 */

const require = createRequire(import.meta.url);
const tahu = require("sparkplug-client") as {
  newClient(config: Record<string, unknown>): TahuClient;
};

export interface TahuMetric {
  name?: string;
  alias?: number;
  type: string;
  value: unknown;
  timestamp?: number;
  properties?: Record<string, { type: string; value: unknown }>;
}

interface TahuClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  publishNodeBirth(payload: { timestamp: number; metrics: TahuMetric[] }): void;
  publishNodeData(payload: { timestamp: number; metrics: TahuMetric[] }): void;
  publishDeviceBirth(device: string, payload: { timestamp: number; metrics: TahuMetric[] }): void;
  publishDeviceData(device: string, payload: { timestamp: number; metrics: TahuMetric[] }): void;
  publishDeviceDeath(device: string, payload: { timestamp: number; metrics?: TahuMetric[] }): void;
  stop(): void;
  client: {
    stream: Socket;
    options: { reconnectPeriod: number };
    end(force?: boolean, cb?: () => void): void;
    connected: boolean;
  };
}

export interface TahuEdgeOptions {
  url: string;
  group: string;
  edge: string;
  nodeMetrics?: TahuMetric[];
  devices?: Record<string, TahuMetric[]>;
  /** Publish NDEATH on stop() (a graceful death). Default true. */
  publishDeath?: boolean;
  /**
   * QoS of everything it publishes. Tahu always publishes at QoS 0; 1 wraps its MQTT
   * client's publish (as an application needing delivery to persistent sessions would).
   */
  qos?: 0 | 1;
}

/** A DCMD the edge node received, as Tahu decoded it. */
export interface ReceivedCommand {
  device: string;
  metrics: { name?: string; type?: string; value?: unknown }[];
}

export class TahuEdgeNode {
  private readonly client: TahuClient;
  private births = 0;
  private readonly alive = new Set<string>();
  private birthWaiters: (() => void)[] = [];
  readonly commands: ReceivedCommand[] = [];

  private constructor(private readonly options: TahuEdgeOptions) {
    this.client = tahu.newClient({
      serverUrl: options.url,
      username: "",
      password: "",
      groupId: options.group,
      edgeNode: options.edge,
      clientId: `tahu-${options.group}-${options.edge}-${Math.random().toString(16).slice(2, 8)}`,
      publishDeath: options.publishDeath ?? true,
      mqttOptions: { reconnectPeriod: 500 },
    });
    for (const id of Object.keys(options.devices ?? {})) this.alive.add(id);
    if (options.qos === 1) {
      type Publish = (topic: string, message: Buffer, opts?: object, cb?: unknown) => unknown;
      const mqttClient = this.client.client as unknown as { publish: Publish };
      const publish = mqttClient.publish.bind(mqttClient);
      mqttClient.publish = (topic, message, opts, cb) => publish(topic, message, { ...opts, qos: 1 }, cb);
    }
    this.client.on("dcmd", (device, payload) => {
      const metrics = (payload as ReceivedCommand).metrics ?? [];
      this.commands.push({ device: String(device), metrics });
    });
    this.client.on("birth", () => this.publishBirths());
    this.client.on("ncmd", (payload) => {
      const metrics = (payload as { metrics?: { name?: string; value?: unknown }[] }).metrics ?? [];
      if (metrics.some((m) => m.name === "Node Control/Rebirth" && m.value === true)) this.publishBirths();
    });
    this.client.on("error", () => undefined);
  }

  /** Connects and resolves once the NBIRTH and DBIRTHs are published. */
  static async start(options: TahuEdgeOptions): Promise<TahuEdgeNode> {
    const node = new TahuEdgeNode(options);
    await node.nextBirth();
    return node;
  }

  /** How many times the births were published (connects + rebirth requests). */
  get birthCount(): number {
    return this.births;
  }

  /** Resolves when the births are published next. */
  nextBirth(): Promise<void> {
    return new Promise((resolve) => this.birthWaiters.push(resolve));
  }

  private publishBirths(): void {
    const now = Date.now();
    this.client.publishNodeBirth({
      timestamp: now,
      metrics: [
        { name: "Node Control/Rebirth", type: "Boolean", value: false },
        ...(this.options.nodeMetrics ?? []),
      ].map((m) => ({ ...m })),
    });
    for (const [id, metrics] of Object.entries(this.options.devices ?? {})) {
      if (!this.alive.has(id)) continue;
      this.client.publishDeviceBirth(id, { timestamp: now, metrics: metrics.map((m) => ({ ...m })) });
    }
    this.births++;
    const waiters = this.birthWaiters;
    this.birthWaiters = [];
    for (const w of waiters) w();
  }

  nodeData(metrics: TahuMetric[]): void {
    this.client.publishNodeData({ timestamp: Date.now(), metrics });
  }

  deviceData(device: string, metrics: TahuMetric[]): void {
    this.client.publishDeviceData(device, { timestamp: Date.now(), metrics });
  }

  deviceDeath(device: string): void {
    this.alive.delete(device);
    this.client.publishDeviceDeath(device, { timestamp: Date.now() });
  }

  deviceBirth(device: string): void {
    this.alive.add(device);
    const metrics = this.options.devices?.[device] ?? [];
    this.client.publishDeviceBirth(device, {
      timestamp: Date.now(),
      metrics: metrics.map((m) => ({ ...m })),
    });
  }

  /** Graceful: NDEATH (when publishDeath), then DISCONNECT. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.client.client.options.reconnectPeriod = 0;
      this.client.stop();
      setTimeout(resolve, 100);
    });
  }

  /** Abrupt: the socket is destroyed without DISCONNECT, so the broker publishes the Will (NDEATH). */
  async kill(): Promise<void> {
    this.client.client.options.reconnectPeriod = 0;
    this.client.client.stream.destroy();
    await new Promise((r) => setTimeout(r, 50));
    this.client.client.end(true);
  }
}
