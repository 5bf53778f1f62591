import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";
import { encodePayload, type MetricInput } from "../../src/sparkplug/encode.js";

/*
 * Benchmark traffic: a plant of `nodes` edge nodes × `devices` devices with `metrics` birth
 * metrics each, and its steady 3.0 DATA (alias-only, no datatypes). DATA payloads are
 * encoded once per device and reused with only the seq appended (seq is the payload's last
 * field), so publishers spend their time publishing, not encoding.
 */

export interface FleetShape {
  group?: string;
  nodes: number;
  devices: number;
  /** Birth metrics per device. */
  metrics: number;
  /** Metrics per DATA message. */
  dataMetrics: number;
  /** Edge node names start at this index (to grow a plant in steps). */
  firstNode?: number;
}

const TYPES = [
  DataType.Double,
  DataType.Int32,
  DataType.Float,
  DataType.Boolean,
  DataType.Int64,
  DataType.String,
];

function birthMetric(k: number, deviceIndex: number): MetricInput {
  const datatype = TYPES[k % TYPES.length]!;
  const values: Partial<Record<DataType, MetricInput["value"]>> = {
    [DataType.Boolean]: k % 2 === 0,
    [DataType.String]: `v${k}`,
    [DataType.Int64]: BigInt(k),
    [DataType.Int32]: k,
  };
  const value = values[datatype] ?? k * 1.5;
  // Aliases unique across the node: offset by the device's index.
  return { name: `Area ${k % 4}/Value ${k}`, alias: (deviceIndex + 1) * 1000 + k, datatype, value };
}

export class FleetTraffic {
  readonly encoders: EdgeNodeEncoder[] = [];
  private readonly dataTemplates: Buffer[][] = [];
  private readonly seqs: number[] = [];
  private readonly group: string;

  constructor(readonly shape: FleetShape) {
    this.group = shape.group ?? "Bench";
    const first = shape.firstNode ?? 0;
    for (let n = first; n < first + shape.nodes; n++) {
      const node = new EdgeNodeEncoder(this.group, `Edge${String(n).padStart(5, "0")}`, 0n, []);
      const templates: Buffer[] = [];
      for (let d = 0; d < shape.devices; d++) {
        const metrics = Array.from({ length: shape.metrics }, (_, k) => birthMetric(k, d));
        node.defineDevice(`Device${String(d).padStart(2, "0")}`, { metrics });
        const data: MetricInput[] = metrics.slice(0, shape.dataMetrics).map((m) => ({
          alias: m.alias,
          datatype: m.datatype,
          omitDatatype: true,
          value: m.value,
          timestamp: 1_767_607_200_000,
        }));
        templates.push(Buffer.from(encodePayload({ timestamp: 1_767_607_200_000, metrics: data })));
      }
      this.encoders.push(node);
      this.dataTemplates.push(templates);
      this.seqs.push(0);
    }
  }

  get deviceCount(): number {
    return this.shape.nodes * this.shape.devices;
  }

  /** NBIRTH and DBIRTHs of node `i` (its seq restarts). */
  births(i: number, now = Date.now()): EdgePublish[] {
    const publishes = this.encoders[i]!.births(now);
    this.seqs[i] = this.encoders[i]!.nextSeq;
    return publishes;
  }

  /**
   * The k-th DATA message of the steady stream: nodes round-robin (the first `nodes` of
   * them, by default all), each node's devices in turn.
   */
  data(k: number, nodes = this.shape.nodes): { topic: string; payload: Buffer } {
    const n = k % nodes;
    const d = Math.floor(k / nodes) % this.shape.devices;
    const seq = this.seqs[n]!;
    this.seqs[n] = (seq + 1) % 256;
    const node = this.encoders[n]!;
    const seqField =
      seq < 128 ? Buffer.from([0x18, seq]) : Buffer.from([0x18, (seq & 0x7f) | 0x80, seq >> 7]);
    return {
      topic: `spBv1.0/${this.group}/DDATA/${node.edge}/Device${String(d).padStart(2, "0")}`,
      payload: Buffer.concat([this.dataTemplates[n]![d]!, seqField]),
    };
  }
}
