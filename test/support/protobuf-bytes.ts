/*
 * A minimal protobuf writer for hand-built test bytes, written independently of protobufjs
 * so that golden tests do not check the decoder against itself. Wire types: 0 varint,
 * 1 fixed64, 2 length-delimited, 5 fixed32.
 */

export type Bytes = Uint8Array;

function varint(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

export function concat(...parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function tag(field: number, wireType: number): Bytes {
  return varint((field << 3) | wireType);
}

/** A varint field (uint32, uint64, bool). */
export function uint(field: number, value: number | bigint | boolean): Bytes {
  return concat(tag(field, 0), varint(typeof value === "boolean" ? (value ? 1 : 0) : value));
}

/** A length-delimited field (string, bytes, embedded message). */
export function bytes(field: number, value: Bytes | string): Bytes {
  const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return concat(tag(field, 2), varint(data.length), data);
}

export function float32(field: number, value: number): Bytes {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return concat(tag(field, 5), b);
}

/** Field numbers of Payload.Metric (Sparkplug 3.0 §6.4). */
export const M = {
  name: 1,
  alias: 2,
  timestamp: 3,
  datatype: 4,
  isHistorical: 5,
  isTransient: 6,
  isNull: 7,
  metadata: 8,
  properties: 9,
  int: 10,
  long: 11,
  float: 12,
  double: 13,
  boolean: 14,
  string: 15,
  bytes: 16,
  dataset: 17,
  template: 18,
} as const;

/** A payload {timestamp, metrics, seq} with the metrics given as encoded Metric messages. */
export function payload(metrics: Bytes[], options: { timestamp?: number; seq?: number } = {}): Bytes {
  const parts: Bytes[] = [];
  if (options.timestamp !== undefined) parts.push(uint(1, options.timestamp));
  for (const m of metrics) parts.push(bytes(2, m));
  if (options.seq !== undefined) parts.push(uint(3, options.seq));
  return concat(...parts);
}

export function hex(text: string): Bytes {
  return Uint8Array.from(text.match(/[0-9a-f]{2}/gi)?.map((h) => Number.parseInt(h, 16)) ?? []);
}
