import mqtt, { type MqttClient } from "mqtt";
import { DataType } from "../../src/sparkplug/datatype.js";
import { decodePayload } from "../../src/sparkplug/decode.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";

/*
 * A Sparkplug 3.0 edge node as the spec wants one to survive faults: it reconnects on its
 * own (trying its brokers in turn), every session with a new bdSeq and its NDEATH as the
 * Will, publishes its births on each connect and whenever a host asks for a rebirth, and
 * sends DDATA while connected. It counts the rebirth requests it receives.
 */

export interface ResilientEdgeOptions {
  urls: string[];
  group: string;
  edge: string;
  devices: string[];
  /** Delay before each reconnect attempt. */
  reconnectMs?: number;
  /** One DDATA (round-robin over the devices) every this many ms; 0: none. */
  dataEveryMs?: number;
  /** Extra client options (credentials, TLS). */
  client?: mqtt.IClientOptions;
}

export class ResilientEdge {
  readonly encoder: EdgeNodeEncoder;
  /**
   * When the host sent each rebirth request received: its payload timestamp, so that pacing
   * is judged as the host paced it, not as a loaded machine happened to deliver it.
   */
  readonly rebirthRequests: number[] = [];
  births = 0;
  private client: MqttClient | undefined;
  private urlIndex = 0;
  private stopped = false;
  private dataTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly alive = new Set<string>();

  constructor(readonly options: ResilientEdgeOptions) {
    this.encoder = new EdgeNodeEncoder(options.group, options.edge, 0n, [
      { name: "Properties/OS", datatype: DataType.String, value: "edge" },
    ]);
    for (const id of options.devices) {
      this.encoder.defineDevice(id, {
        metrics: [{ name: "Value", alias: 1, datatype: DataType.Int32, value: 0 }],
      });
      this.alive.add(id);
    }
  }

  /** Device ids as discovery lists them. */
  get ids(): string[] {
    return [...this.alive].map((d) => `spBv1.0/${this.options.group}/${this.options.edge}/${d}`);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Started and not stopped or killed (it may be between reconnects). */
  get up(): boolean {
    return !this.stopped;
  }

  /** Device ids (short) that are alive. */
  get aliveDevices(): string[] {
    return [...this.alive];
  }

  /** The bdSeq of the current session. */
  get bdSeq(): bigint {
    return this.encoder.bdSeq;
  }

  /** DDEATH of one device; it stays dead (and out of rebirths) until revived. */
  killDevice(id: string): void {
    if (!this.alive.delete(id)) return;
    if (this.client?.connected) this.send(this.encoder.ddeath(id, Date.now()));
  }

  /** DBIRTH of a dead device. */
  reviveDevice(id: string): void {
    if (this.alive.has(id)) return;
    this.alive.add(id);
    if (this.client?.connected) this.send(this.encoder.dbirth(id, Date.now()));
  }

  /** Connects (and keeps reconnecting); resolves after the first births. */
  async start(): Promise<void> {
    this.stopped = false;
    const born = this.births;
    this.connect();
    const deadline = Date.now() + 10_000;
    while (this.births === born) {
      if (Date.now() > deadline) throw new Error(`${this.options.edge} could not connect`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.options.urls[this.urlIndex % this.options.urls.length]!;
    this.encoder.bdSeq = (this.encoder.bdSeq + 1n) % 256n;
    const will = this.encoder.will(Date.now());
    const client = mqtt.connect(url, {
      clientId: `edge-${this.options.group}-${this.options.edge}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 2000,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false },
      ...this.options.client,
    });
    this.client = client;
    client.on("connect", () => {
      client.subscribe(`spBv1.0/${this.options.group}/NCMD/${this.options.edge}`, { qos: 1 }, () => {
        this.publishBirths();
      });
      if (this.options.dataEveryMs) {
        clearInterval(this.dataTimer);
        this.dataTimer = setInterval(() => this.publishData(), this.options.dataEveryMs);
      }
    });
    client.on("message", (_topic, payload) => {
      const decoded = decodePayload(payload);
      if (
        decoded.ok &&
        decoded.payload.metrics.some((m) => m.name === "Node Control/Rebirth" && m.value === true)
      ) {
        const sentAt = decoded.payload.timestamp;
        this.rebirthRequests.push(sentAt === undefined ? Date.now() : Number(sentAt));
        this.publishBirths();
      }
    });
    client.on("error", () => undefined);
    client.on("close", () => {
      if (this.client !== client) return;
      clearInterval(this.dataTimer);
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.end(true);
      this.client = undefined;
      if (this.stopped) return;
      this.urlIndex++;
      this.retryTimer = setTimeout(() => this.connect(), this.options.reconnectMs ?? 200);
    });
  }

  private send(publish: EdgePublish): void {
    this.client?.publish(publish.topic, Buffer.from(publish.payload), { qos: publish.qos });
  }

  publishBirths(): void {
    if (!this.client?.connected) return;
    const now = Date.now();
    this.send(this.encoder.nbirth(now));
    for (const id of this.alive) this.send(this.encoder.dbirth(id, now));
    this.births++;
  }

  private publishData(): void {
    if (!this.client?.connected || this.alive.size === 0) return;
    if (this.tick % 10 === 0) this.send(this.encoder.ndata({}, Date.now()));
    const ids = [...this.alive];
    const id = ids[this.tick++ % ids.length]!;
    this.send(this.encoder.ddata(id, { Value: this.tick }, Date.now()));
  }

  /** Goes away for good, abruptly: the broker sends the Will. */
  async kill(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.dataTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.stream?.destroy();
      await client.endAsync(true).catch(() => undefined);
    }
  }

  /** Goes away cleanly: NDEATH, then DISCONNECT. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.dataTimer);
    const client = this.client;
    this.client = undefined;
    if (client?.connected) {
      const death = this.encoder.ndeath(Date.now());
      await client.publishAsync(death.topic, Buffer.from(death.payload), { qos: 1 }).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    } else if (client) {
      await client.endAsync(true).catch(() => undefined);
    }
  }
}
