import { isCompressed, scanData } from "./decode.js";
import { MetricTag, PayloadTag } from "./field-tags.js";
import type { MetricTable } from "./metric-table.js";
import type { PayloadHeader } from "./payload-reader.js";
import { asBuffer } from "./proto.js";

/*
 * The host's quiet lane reads most DATA messages a discovery ever sees, so it gets a reader
 * of its own. First a plain loop over the bytes, for the shape DATA nearly always has (seq,
 * timestamp, metrics of alias or name, timestamp, datatype and a scalar value, every tag one
 * byte). Anything else, and anything odd (a varint longer than its field allows, a field
 * crossing its metric's end, a nested message, uuid or body, an unknown field), that loop
 * does not judge: the payload is scanned by the protobufjs reader instead, which accepts or
 * rejects it exactly as `summarizeData` does. So the answer never depends on which of the
 * two read it; the differential test in test/unit/sparkplug/data-summary.test.ts holds it.
 */

/**
 * The seq of a well-formed, uncompressed DATA payload that has one and whose every metric
 * `table` resolves; undefined otherwise (then the message is not quiet and takes the full
 * path, which reports why). Allocates nothing unless an odd payload names a metric.
 */
export function quietDataSeq(bytes: Uint8Array, table: MetricTable): number | undefined {
  const seq = plainDataSeq(bytes, table);
  return seq === NOT_PLAIN ? scannedDataSeq(bytes, table) : seq;
}

/** The header the scan reuses (it runs for every quiet DATA message the plain loop leaves). */
const scanHeader: PayloadHeader = { timestamp: undefined, seq: undefined, uuid: undefined, body: undefined };

function scannedDataSeq(bytes: Uint8Array, table: MetricTable): number | undefined {
  const scanned = scanData(bytes, table, scanHeader);
  if ("message" in scanned || scanned.unresolved.length > 0) return undefined;
  const { header } = scanned;
  if (isCompressed(header)) return undefined;
  return header.seq === undefined ? undefined : Number(header.seq);
}

/** What the plain loop answers for a payload it does not judge (a seq is never negative). */
const NOT_PLAIN = -1;

/** Where the plain loop is in its bytes (one scan at a time, synchronous). */
let quick = 0;

/**
 * A varint of at most `maxBytes` bytes (≤ 7: the value stays an exact number) that ends
 * before `end`; -1 if it is longer or cut off.
 */
function quickVarint(buf: Uint8Array, end: number, maxBytes: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes && quick < end; i++) {
    const b = buf[quick++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

/** Steps over a 64-bit varint (at most 10 bytes, as `uint64()` reads it); false if malformed or cut off. */
function quickSkipVarint64(buf: Uint8Array, end: number): boolean {
  for (let i = 0; i < 10 && quick < end; i++) if (buf[quick++]! < 0x80) return true;
  return false;
}

/** Steps over a string (a length of at most 4 bytes, as protobufjs reads it); its start, or -1. */
function quickDelimited(buf: Uint8Array, end: number): number {
  const length = quickVarint(buf, end, 4);
  const start = quick;
  if (length < 0 || start + length > end) return -1;
  quick = start + length;
  return start;
}

/**
 * The seq of a DATA payload in the common shape whose every metric `table` resolves, or
 * NOT_PLAIN (a payload without a seq included: the scan then reports it).
 */
function plainDataSeq(buf: Uint8Array, table: MetricTable): number {
  const end = buf.length;
  let seq = NOT_PLAIN;
  quick = 0;
  while (quick < end) {
    const tag = buf[quick++]!;
    if (tag === PayloadTag.metrics) {
      // A length of at most 4 bytes reads the same as protobufjs's uint32().
      const length = quickVarint(buf, end, 4);
      if (length < 0 || quick + length > end) return NOT_PLAIN;
      if (!plainMetric(buf, quick + length, table)) return NOT_PLAIN;
    } else if (tag === PayloadTag.seq) {
      seq = quickVarint(buf, end, 7);
      if (seq < 0) return NOT_PLAIN;
    } else if (tag === PayloadTag.timestamp) {
      if (!quickSkipVarint64(buf, end)) return NOT_PLAIN;
    } else return NOT_PLAIN;
  }
  return seq;
}

function plainMetric(buf: Uint8Array, end: number, table: MetricTable): boolean {
  let alias = -1;
  let nameStart = -1;
  let nameEnd = -1;
  while (quick < end) {
    switch (buf[quick++]) {
      case MetricTag.alias:
        alias = quickVarint(buf, end, 7);
        if (alias < 0) return false;
        break;
      case MetricTag.timestamp:
      case MetricTag.longValue:
        if (!quickSkipVarint64(buf, end)) return false;
        break;
      case MetricTag.datatype:
      case MetricTag.intValue:
      case MetricTag.booleanValue:
      case MetricTag.isNull:
      case MetricTag.isHistorical:
      case MetricTag.isTransient:
        // uint32(): five bytes at most, consumed whole.
        if (quickVarint(buf, end, 5) < 0) return false;
        break;
      case MetricTag.doubleValue:
        quick += 8;
        if (quick > end) return false;
        break;
      case MetricTag.floatValue:
        quick += 4;
        if (quick > end) return false;
        break;
      case MetricTag.name:
        nameStart = quickDelimited(buf, end);
        if (nameStart < 0) return false;
        nameEnd = quick;
        break;
      case MetricTag.stringValue:
        if (quickDelimited(buf, end) < 0) return false;
        break;
      default:
        return false;
    }
  }
  if (alias >= 0 && table.indexOf(alias, undefined) !== undefined) return true;
  if (nameStart < 0) return false;
  // Decoded as MetricRef.name decodes it.
  const name = asBuffer(buf).toString("utf8", nameStart, nameEnd);
  return table.indexOf(undefined, name) !== undefined;
}
