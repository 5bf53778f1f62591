import { DataType } from "./datatype.js";
import { encodePayload, type MetricInput } from "./encode.js";
import { BDSEQ_METRIC, REBIRTH_METRIC } from "./payload.js";
import { edgeTopic } from "./topic.js";

/** An MQTT publish an edge node makes. */
export interface EdgePublish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: false;
}

export interface DeviceDefinition {
  /** Birth metrics: name, alias, datatype and initial value. */
  metrics: MetricInput[];
}

/**
 * The messages of one Sparkplug 3.0 edge node, encoded with the project's own encoder: a
 * correct edge node by default (per-node seq shared by all its messages, bdSeq in NBIRTH
 * and NDEATH, Node Control/Rebirth, alias-only DATA), which tests and the demo fleet bend
 * to produce the quirks of real ones. Pure: it only builds messages; the caller publishes.
 */
export class EdgeNodeEncoder {
  private seq = 0;
  private readonly devices = new Map<string, DeviceDefinition>();

  constructor(
    readonly group: string,
    readonly edge: string,
    public bdSeq: bigint = 0n,
    private readonly nodeMetrics: MetricInput[] = [],
  ) {}

  /** Adds (or replaces) a device that the next births include. */
  defineDevice(id: string, definition: DeviceDefinition): void {
    this.devices.set(id, definition);
  }

  get deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  /** The seq the next sequenced message will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  private takeSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    return seq;
  }

  private publish(topic: string, payload: Uint8Array, qos: 0 | 1 = 0): EdgePublish {
    return { topic, payload, qos, retain: false };
  }

  /** The NDEATH this session's Will carries (QoS 1, bdSeq only, no seq). */
  will(timestamp: number): EdgePublish {
    return this.ndeath(timestamp);
  }

  /** NBIRTH: seq restarts at `seq` (0 by default), with bdSeq and Node Control/Rebirth. */
  nbirth(timestamp: number, seq = 0): EdgePublish {
    this.seq = seq;
    const metrics: MetricInput[] = [
      { name: REBIRTH_METRIC, datatype: DataType.Boolean, value: false, timestamp },
      { name: BDSEQ_METRIC, datatype: DataType.Int64, value: this.bdSeq, timestamp },
      ...this.nodeMetrics.map((m) => ({ timestamp, ...m })),
    ];
    return this.publish(
      edgeTopic("NBIRTH", this.group, this.edge),
      encodePayload({ timestamp, seq: this.takeSeq(), metrics }),
    );
  }

  /** DBIRTH of one defined device. */
  dbirth(device: string, timestamp: number): EdgePublish {
    const definition = this.devices.get(device);
    if (!definition) throw new Error(`device ${device} is not defined on ${this.group}/${this.edge}`);
    const metrics = definition.metrics.map((m) => ({ timestamp, ...m }));
    return this.publish(
      edgeTopic("DBIRTH", this.group, this.edge, device),
      encodePayload({ timestamp, seq: this.takeSeq(), metrics }),
    );
  }

  /** NBIRTH followed by every device's DBIRTH: what a (re)birth publishes. */
  births(timestamp: number): EdgePublish[] {
    return [this.nbirth(timestamp), ...this.deviceIds.map((d) => this.dbirth(d, timestamp))];
  }

  /** NDATA in the 3.0 form: alias only (name when there is none), no datatype. */
  ndata(values: Record<string, MetricInput["value"]>, timestamp: number): EdgePublish {
    return this.publish(
      edgeTopic("NDATA", this.group, this.edge),
      encodePayload({
        timestamp,
        seq: this.takeSeq(),
        metrics: this.dataMetrics(this.nodeMetrics, values, timestamp),
      }),
    );
  }

  /** DDATA in the 3.0 form. */
  ddata(device: string, values: Record<string, MetricInput["value"]>, timestamp: number): EdgePublish {
    const definition = this.devices.get(device);
    if (!definition) throw new Error(`device ${device} is not defined on ${this.group}/${this.edge}`);
    return this.publish(
      edgeTopic("DDATA", this.group, this.edge, device),
      encodePayload({
        timestamp,
        seq: this.takeSeq(),
        metrics: this.dataMetrics(definition.metrics, values, timestamp),
      }),
    );
  }

  ddeath(device: string, timestamp: number): EdgePublish {
    return this.publish(
      edgeTopic("DDEATH", this.group, this.edge, device),
      encodePayload({ timestamp, seq: this.takeSeq() }),
    );
  }

  /** NDEATH: bdSeq only, no seq, QoS 1. */
  ndeath(timestamp: number): EdgePublish {
    return this.publish(
      edgeTopic("NDEATH", this.group, this.edge),
      encodePayload({
        timestamp,
        metrics: [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: this.bdSeq }],
      }),
      1,
    );
  }

  private dataMetrics(
    definitions: MetricInput[],
    values: Record<string, MetricInput["value"]>,
    timestamp: number,
  ): MetricInput[] {
    return Object.entries(values).map(([name, value]) => {
      const definition = definitions.find((m) => m.name === name);
      if (!definition) throw new Error(`metric ${name} is not in the birth of ${this.group}/${this.edge}`);
      const metric: MetricInput = { datatype: definition.datatype, omitDatatype: true, value, timestamp };
      if (definition.alias !== undefined) metric.alias = definition.alias;
      else metric.name = name;
      return metric;
    });
  }
}
