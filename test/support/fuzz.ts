import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { packageFile } from "../../src/paths.js";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { encodePayload } from "../../src/sparkplug/encode.js";
import { loadFixture } from "../../src/streams/fixture-file.js";
import { allDatatypeMetrics } from "./all-datatypes.js";
import { bytes, concat, M, payload, uint } from "./protobuf-bytes.js";

/*
 * Hostile Sparkplug traffic, seeded: valid payloads of every shape (births of every
 * datatype, DataSets, Templates, compressed envelopes, recorded Tahu traffic) mutated by
 * bit flips, truncation, insertion, splicing, forged lengths and overlong varints, plus
 * random bytes, deep template nesting, invalid UTF-8 in names, and topics that are
 * malformed, outside the namespace or on random nodes.
 */

export interface FuzzMessage {
  topic: string;
  payload: Buffer;
  /** How it was made, for failure messages. */
  how: string;
}

const VERBS = ["NBIRTH", "NDEATH", "NDATA", "NCMD", "DBIRTH", "DDEATH", "DDATA", "DCMD"];

/** The corpus the mutations start from. */
async function fuzzCorpus(): Promise<Buffer[]> {
  const corpus: Buffer[] = [];
  const edge = new EdgeNodeEncoder("G", "E", 3n, [
    { name: "Uptime", alias: 1, datatype: DataType.Int64, value: 5n },
    { name: "Properties/OS", alias: 2, datatype: DataType.String, value: "linux" },
  ]);
  edge.defineDevice("D", {
    metrics: [
      { name: "Speed", alias: 10, datatype: DataType.Double, value: 1.5 },
      { name: "Count", alias: 11, datatype: DataType.UInt32, value: 7 },
    ],
  });
  const now = 1_700_000_000_000;
  for (const p of [
    edge.nbirth(now),
    edge.dbirth("D", now),
    edge.ndata({ Uptime: 6n }, now),
    edge.ddata("D", { Speed: 2.5, Count: 8 }, now),
    edge.ddeath("D", now),
    edge.ndeath(now),
  ])
    corpus.push(Buffer.from(p.payload));
  corpus.push(Buffer.from(encodePayload({ timestamp: now, seq: 0, metrics: allDatatypeMetrics() })));
  // Recorded and hand-built quirks: templates, DataSets, compression, arrays, STATE.
  for (const file of ["template-in-dbirth", "all-datatypes", "compressed", "host-state", "tahu/session"]) {
    const path = packageFile(`test/fixtures/${file}.jsonl`, import.meta.url);
    for (const message of (await loadFixture(path)).messages)
      if (message.payload.length > 0) corpus.push(Buffer.from(message.payload));
  }
  return corpus;
}

/** A Template metric nested `depth` deep (built from the inside out, by hand). */
export function deepTemplate(depth: number): Buffer {
  let template: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < depth; i++) {
    template = bytes(
      2,
      concat(bytes(M.name, "t"), uint(M.datatype, DataType.Template), bytes(M.template, template)),
    );
  }
  return Buffer.from(
    payload(
      [concat(bytes(M.name, "root"), uint(M.datatype, DataType.Template), bytes(M.template, template))],
      {
        timestamp: 1,
        seq: 0,
      },
    ),
  );
}

/** A birth whose metric names are not valid UTF-8. */
export function invalidUtf8Names(): Buffer {
  const bad = Uint8Array.from([0x4d, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]);
  return Buffer.from(
    payload(
      [
        concat(bytes(M.name, bad), uint(M.alias, 1), uint(M.datatype, DataType.Int32), uint(M.int, 3)),
        concat(bytes(M.name, "bdSeq"), uint(M.datatype, DataType.Int64), uint(M.long, 0)),
      ],
      { timestamp: 1, seq: 0 },
    ),
  );
}

/** One to three random bytes overwritten, and now and then the end cut off. */
export function mutateBytes(random: () => number, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const flips = 1 + Math.floor(random() * 3);
  for (let i = 0; i < flips && out.length > 0; i++)
    out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  return random() < 0.3 ? out.subarray(0, Math.floor(random() * (out.length + 1))) : out;
}

/** Seeded generator of hostile messages. */
export class Fuzzer {
  private constructor(
    private readonly random: () => number,
    private readonly corpus: Buffer[],
    private readonly names: { groups: number; edges: number; devices: number },
  ) {}

  /** `names`: how many groups, edge nodes and devices fuzzed topics use (FG*, FE*, FD*). */
  static async create(random: () => number, names = { groups: 8, edges: 32, devices: 8 }): Promise<Fuzzer> {
    return new Fuzzer(random, await fuzzCorpus(), names);
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private randomBytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  topic(): { topic: string; how: string } {
    const r = this.random();
    const group = `FG${this.int(this.names.groups)}`;
    const edge = `FE${this.int(this.names.edges)}`;
    const verb = this.pick(VERBS);
    if (r < 0.8) {
      const device = verb.startsWith("D") ? `/FD${this.int(this.names.devices)}` : "";
      return { topic: `spBv1.0/${group}/${verb}/${edge}${device}`, how: "valid topic" };
    }
    const malformed = [
      `spBv1.0/${group}/${verb}`,
      `spBv1.0/${group}/${verb}/${edge}/d/extra`,
      `spBv1.0/${group}/NOPE/${edge}`,
      `spBv1.0//${verb}/${edge}`,
      `spBv1.0/${group}/${verb}/`,
      `spBv1.0/STATE/${edge}/x`,
      `spBv1.0/STATE/${edge}`,
      `STATE/${edge}`,
      `spBv1.0/${group}/ndata/${edge}`,
      `spBv1.0/${"x".repeat(this.pick([0, 64, 299]))}/NDATA/${edge}`,
      `spBv1.0/${group}/${verb.startsWith("N") ? "DBIRTH" : "NBIRTH"}/${edge}`,
    ];
    return { topic: this.pick(malformed), how: "malformed topic" };
  }

  payload(): { payload: Buffer; how: string } {
    const r = this.random();
    if (r < 0.12) return { payload: this.randomBytes(this.int(200)), how: "random bytes" };
    const base = this.pick(this.corpus);
    if (r < 0.2) return { payload: base, how: "unmutated corpus payload" };
    if (r < 0.4) {
      const out = Buffer.from(base);
      const flips = 1 + this.int(8);
      for (let i = 0; i < flips && out.length > 0; i++) out[this.int(out.length)]! ^= 1 << this.int(8);
      return { payload: out, how: `${flips} bit flip(s)` };
    }
    if (r < 0.55) return { payload: base.subarray(0, this.int(base.length)), how: "truncated" };
    if (r < 0.65) {
      const at = this.int(base.length + 1);
      return {
        payload: Buffer.concat([base.subarray(0, at), this.randomBytes(1 + this.int(16)), base.subarray(at)]),
        how: "bytes inserted",
      };
    }
    if (r < 0.75) {
      // A length-delimited field whose length claims gigabytes.
      const at = this.int(base.length + 1);
      const huge = Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]);
      return { payload: Buffer.concat([base.subarray(0, at), huge, base.subarray(at)]), how: "huge length" };
    }
    if (r < 0.82) {
      const at = this.int(base.length + 1);
      const overlong = Buffer.from([0x08, ...new Array(11).fill(0xff), 0x01]);
      return { payload: Buffer.concat([base.subarray(0, at), overlong]), how: "overlong varint" };
    }
    if (r < 0.9) {
      const other = this.pick(this.corpus);
      return {
        payload: Buffer.concat([
          base.subarray(0, this.int(base.length)),
          other.subarray(this.int(other.length)),
        ]),
        how: "spliced",
      };
    }
    if (r < 0.95) {
      const out = Buffer.from(base);
      // Overwrite a run with one repeated byte (zeroes, 0xff: runs of continuation bits).
      const at = this.int(out.length);
      out.fill(this.pick([0, 0xff, 0x80, 0x7f]), at, Math.min(out.length, at + 1 + this.int(12)));
      return { payload: out, how: "run overwritten" };
    }
    return { payload: Buffer.concat([base, base.subarray(this.int(base.length))]), how: "tail duplicated" };
  }

  next(): FuzzMessage {
    const { topic, how: topicHow } = this.topic();
    const { payload: p, how } = this.payload();
    return { topic, payload: p, how: `${topicHow}, ${how}` };
  }
}

/** protobufjs on the project's .proto, used as an independent judge of "is this well-formed protobuf". */
export function referencePayloadDecoder(): (bytes: Uint8Array) => boolean {
  const root = protobuf.parse(
    readFileSync(packageFile("proto/sparkplug_b.proto", import.meta.url), "utf8"),
  ).root;
  const Payload = root.lookupType("org.eclipse.tahu.protobuf.Payload");
  return (bytes) => {
    try {
      Payload.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
}
