import mqtt, { type MqttClient } from "mqtt";
import { DataType } from "../sparkplug/datatype.js";
import { decodePayload } from "../sparkplug/decode.js";
import { EdgeNodeEncoder, type EdgePublish } from "../sparkplug/edge-node-encoder.js";
import type { MetricInput } from "../sparkplug/encode.js";
import { REBIRTH_METRIC } from "../sparkplug/payload.js";

/*
 * A Sparkplug 3.0 edge node for the demo fleet, on the project's own encoder: each MQTT
 * session increments bdSeq and registers its NDEATH as a QoS 1 Will, births are published
 * on connect and on a rebirth request, devices send DATA, die and come back.
 */

interface DeviceKind {
  name: string;
  metrics: (index: number) => MetricInput[];
  /** Values for a DDATA: metric name → value. */
  sample: (random: () => number) => Record<string, MetricInput["value"]>;
}

const DEVICE_KINDS: DeviceKind[] = [
  {
    name: "Motor",
    metrics: (i) => [
      { name: "Speed", alias: 1, datatype: DataType.Double, value: 1450 },
      { name: "Temperature", alias: 2, datatype: DataType.Float, value: 40 },
      { name: "Running", alias: 3, datatype: DataType.Boolean, value: true },
      {
        name: "Properties/Hardware Make",
        alias: 4,
        datatype: DataType.String,
        value: i % 3 === 0 ? "Siemens" : "Acme",
      },
      { name: "Properties/Serial", alias: 5, datatype: DataType.String, value: `M-${1000 + i}` },
    ],
    sample: (r) => ({ Speed: 1400 + Math.round(r() * 100), Temperature: 35 + Math.round(r() * 100) / 10 }),
  },
  {
    name: "Sensor",
    metrics: (i) => [
      { name: "Pressure", alias: 1, datatype: DataType.Float, value: 1.2 },
      { name: "Level", alias: 2, datatype: DataType.Int32, value: 50 },
      { name: "Properties/Hardware Make", alias: 4, datatype: DataType.String, value: "Acme" },
      { name: "Properties/Serial", alias: 5, datatype: DataType.String, value: `S-${2000 + i}` },
    ],
    sample: (r) => ({ Pressure: Math.round(r() * 300) / 100, Level: Math.round(r() * 100) }),
  },
  {
    name: "Valve",
    metrics: (i) => [
      { name: "Position", alias: 1, datatype: DataType.Int16, value: 0 },
      { name: "Open", alias: 2, datatype: DataType.Boolean, value: false },
      { name: "Properties/Hardware Make", alias: 4, datatype: DataType.String, value: "Festo" },
      { name: "Properties/Serial", alias: 5, datatype: DataType.String, value: `V-${3000 + i}` },
    ],
    sample: (r) => {
      const position = Math.round(r() * 100);
      return { Position: position, Open: position > 10 };
    },
  },
];

interface SimulatedDevice {
  id: string;
  kind: DeviceKind;
  alive: boolean;
}

export class SimulatedEdgeNode {
  private client: MqttClient | undefined;
  private readonly encoder: EdgeNodeEncoder;
  private readonly devices: SimulatedDevice[] = [];
  private bdSeq = -1n;
  private stopped = true;

  constructor(
    readonly group: string,
    readonly edge: string,
    deviceCount: number,
    private readonly random: () => number,
  ) {
    this.encoder = new EdgeNodeEncoder(group, edge, 0n, [
      { name: "Properties/OS", datatype: DataType.String, value: "akri-mqtt demo" },
      { name: "Uptime", alias: 100, datatype: DataType.Int64, value: 0n },
    ]);
    for (let i = 0; i < deviceCount; i++) {
      const kind = DEVICE_KINDS[i % DEVICE_KINDS.length]!;
      const id = `${kind.name}-${String(i + 1).padStart(2, "0")}`;
      // Aliases are unique across the node: offset each device's by its index.
      const metrics = kind
        .metrics(i)
        .map((m) => ({ ...m, alias: m.alias === undefined ? undefined : 1000 * (i + 1) + Number(m.alias) }));
      this.encoder.defineDevice(id, { metrics });
      this.devices.push({ id, kind, alive: true });
    }
  }

  get online(): boolean {
    return !this.stopped && this.client?.connected === true;
  }

  get deviceCount(): number {
    return this.devices.length;
  }

  /** Connects with a new bdSeq (its Will is the NDEATH of this session) and publishes the births. */
  start(url: string): void {
    this.stopped = false;
    this.bdSeq = (this.bdSeq + 1n) % 256n;
    this.encoder.bdSeq = this.bdSeq;
    const will = this.encoder.will(Date.now());
    const client = mqtt.connect(url, {
      clientId: `demo-${this.group}-${this.edge}`,
      clean: true,
      reconnectPeriod: 0,
      protocolVersion: 4,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false },
    });
    this.client = client;
    client.on("connect", () => {
      client.subscribe(
        [`spBv1.0/${this.group}/NCMD/${this.edge}`, `spBv1.0/${this.group}/DCMD/${this.edge}/#`],
        { qos: 1 },
      );
      this.births();
    });
    client.on("message", (topic, payload) => {
      if (!topic.includes("/NCMD/")) return;
      const decoded = decodePayload(payload);
      if (decoded.ok && decoded.payload.metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)) {
        this.births();
      }
    });
    client.on("error", () => undefined);
  }

  private send(publish: EdgePublish): void {
    if (this.client?.connected)
      this.client.publish(publish.topic, Buffer.from(publish.payload), { qos: publish.qos });
  }

  /** NBIRTH and the DBIRTH of every live device. */
  births(): void {
    const now = Date.now();
    this.send(this.encoder.nbirth(now));
    for (const device of this.devices) if (device.alive) this.send(this.encoder.dbirth(device.id, now));
  }

  /** DDATA from a few live devices. */
  publishData(): void {
    if (!this.online) return;
    const now = Date.now();
    for (const device of this.devices) {
      if (device.alive && this.random() < 0.3)
        this.send(this.encoder.ddata(device.id, device.kind.sample(this.random), now));
    }
  }

  /** Devices that are dead now (their node up or down). */
  get deadDevices(): number {
    return this.devices.filter((d) => !d.alive).length;
  }

  /** This session's bdSeq (the last `start`'s). */
  get sessionBdSeq(): bigint {
    return this.bdSeq;
  }

  /** A random live device dies: its DDATA stops and, while the node is up, its DDEATH goes out. Its id. */
  deviceDies(): string | undefined {
    const alive = this.devices.filter((d) => d.alive);
    if (alive.length === 0) return undefined;
    const device = alive[Math.floor(this.random() * alive.length)]!;
    device.alive = false;
    this.send(this.encoder.ddeath(device.id, Date.now()));
    return device.id;
  }

  /**
   * The device `id` lives again: its DBIRTH goes out now if the node is up (true), or with
   * the node's next births if it is down (false).
   */
  deviceReborn(id: string): boolean {
    const device = this.devices.find((d) => d.id === id);
    if (device === undefined || device.alive) return false;
    device.alive = true;
    if (!this.online) return false;
    this.send(this.encoder.dbirth(device.id, Date.now()));
    return true;
  }

  /** Graceful: NDEATH, then disconnect. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const client = this.client;
    const death = this.encoder.ndeath(Date.now());
    if (client?.connected) client.publish(death.topic, Buffer.from(death.payload), { qos: 1 });
    client?.end(false);
  }

  /** Abrupt: the socket drops, the broker publishes the Will. */
  kill(): void {
    if (this.stopped) return;
    this.stopped = true;
    (this.client as unknown as { stream?: { destroy(): void } } | undefined)?.stream?.destroy();
    this.client?.end(true);
  }
}
