import type protobuf from "protobufjs";
import type { MetricTable } from "./metric-table.js";
import { asBuffer, PayloadType, type RawMetric } from "./proto.js";

/*
 * The hot path of decoding: the Payload message and its top-level Metrics, read field by
 * field with protobufjs's Reader, straight into the caller's hands. Every Sparkplug
 * message is a Payload with a list of Metrics, and a DATA message is little else, so
 * this loop runs for every metric of every message. protobufjs's generated decoder
 * would allocate a message object per metric only for us to copy it once more; here one
 * scratch object is reused. Field numbers and wire types come from the loaded
 * proto/sparkplug_b.proto; nested messages (MetaData, PropertySet, DataSet, Template)
 * are decoded by protobufjs's generated decoders.
 */

const MetricType = PayloadType.lookupType("Metric");

function tagOf(type: protobuf.Type, field: string): number {
  const f = type.fields[field];
  if (!f) throw new Error(`proto/sparkplug_b.proto: ${type.name} has no field ${field}`);
  return (f.id << 3) | wireTypeOf(f);
}

/**
 * The switches below dispatch on literal tags (so V8 can use a jump table); each literal
 * is checked against the loaded .proto here, at start-up.
 */
function checkTags(type: protobuf.Type, literals: Record<string, number>): void {
  for (const [field, literal] of Object.entries(literals)) {
    const tag = tagOf(type, field);
    if (tag !== literal)
      throw new Error(`proto/sparkplug_b.proto: ${type.name}.${field} has tag ${tag}, expected ${literal}`);
  }
}

function wireTypeOf(field: protobuf.Field): number {
  if (field.resolvedType !== null || field.type === "string" || field.type === "bytes") return 2;
  if (field.type === "float") return 5;
  if (field.type === "double") return 1;
  return 0;
}

function nestedType(type: protobuf.Type, field: string): protobuf.Type {
  return type.fields[field]!.resolvedType as protobuf.Type;
}

// Tags (field number << 3 | wire type) used as literals in the switches below.
checkTags(PayloadType, { timestamp: 8, metrics: 18, seq: 24, uuid: 34, body: 42 });
checkTags(MetricType, {
  name: 10,
  alias: 16,
  timestamp: 24,
  datatype: 32,
  isHistorical: 40,
  isTransient: 48,
  isNull: 56,
  metadata: 66,
  properties: 74,
  intValue: 80,
  longValue: 88,
  floatValue: 101,
  doubleValue: 105,
  booleanValue: 112,
  stringValue: 122,
  bytesValue: 130,
  datasetValue: 138,
  templateValue: 146,
});

const MetaDataType = nestedType(MetricType, "metadata");
const PropertySetType = nestedType(MetricType, "properties");
const DataSetType = nestedType(MetricType, "datasetValue");
const TemplateType = nestedType(MetricType, "templateValue");

/** The Payload-level fields; metrics are handed to the callback as they are read. */
export interface PayloadHeader {
  timestamp: number | bigint | undefined;
  seq: number | bigint | undefined;
  uuid: string | undefined;
  body: Uint8Array | undefined;
}

/**
 * Skips an unknown field (or a known one with the wrong wire type, which protobuf treats as
 * unknown). Field number 0, wire types 4, 6 and 7 and groups that do not close with their
 * own field number are malformed.
 */
function skip(reader: protobuf.Reader, tag: number): void {
  if (tag >>> 3 === 0) throw new Error(`illegal tag: field number 0 at offset ${reader.pos}`);
  reader.skipType(tag & 7, 0, tag >>> 3);
}

/**
 * Reads a Payload, calling `onMetric` with a scratch RawMetric for each top-level metric.
 * The scratch object is reused: the callback must copy what it keeps. Throws on malformed
 * bytes, with `reader.pos` at the failure.
 */
export function readPayload(reader: protobuf.Reader, onMetric: (metric: RawMetric) => void): PayloadHeader {
  return readPayloadWith(reader, emptyMetric(), readMetric, onMetric);
}

/**
 * Reads a Payload as far as discovery needs a DATA message: its header, and each top-level
 * metric's alias and name (decoded only when asked). Values are stepped over, not read, yet
 * checked exactly as `readPayload` checks them: the same bytes fail with the same error at
 * the same offset. The scratch MetricRef is reused between callbacks.
 */
export function scanPayload(
  reader: protobuf.Reader,
  onMetric: (metric: MetricRef) => void,
  header: PayloadHeader = { timestamp: undefined, seq: undefined, uuid: undefined, body: undefined },
): PayloadHeader {
  scanScratch.buf = reader.buf as Buffer;
  return readPayloadWith(reader, scanScratch, scanMetric, onMetric, header);
}

function readPayloadWith<M>(
  reader: protobuf.Reader,
  scratch: M,
  readOne: (reader: protobuf.Reader, end: number, metric: M) => void,
  onMetric: (metric: M) => void,
  header: PayloadHeader = { timestamp: undefined, seq: undefined, uuid: undefined, body: undefined },
): PayloadHeader {
  header.timestamp = undefined;
  header.seq = undefined;
  header.uuid = undefined;
  header.body = undefined;
  const end = reader.len;
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case 18: {
        // metrics
        const length = reader.uint32();
        const metricEnd = reader.pos + length;
        if (metricEnd > end) throw new RangeError(`index out of range: metric of ${length} bytes`);
        // Nested messages must not read past this metric: narrow the reader's end meanwhile.
        reader.len = metricEnd;
        try {
          readOne(reader, metricEnd, scratch);
        } finally {
          reader.len = end;
        }
        if (reader.pos !== metricEnd)
          throw new RangeError(`index out of range: metric ends at ${metricEnd}, read to ${reader.pos}`);
        onMetric(scratch);
        break;
      }
      case 8: // timestamp
        header.timestamp = reader.uint64() as unknown as number | bigint;
        break;
      case 24: // seq
        header.seq = reader.uint64() as unknown as number | bigint;
        break;
      case 34: // uuid
        header.uuid = reader.string();
        break;
      case 42: // body
        header.body = reader.bytes();
        break;
      default:
        skip(reader, tag);
    }
  }
  return header;
}

/** A top-level metric as `scanPayload` sees it: its alias and where its name is. */
export class MetricRef {
  alias: number | bigint | undefined = undefined;
  nameStart = -1;
  nameEnd = -1;

  /** The payload's bytes (the name is decoded from them). */
  buf: Buffer = Buffer.alloc(0);

  get hasName(): boolean {
    return this.nameStart >= 0;
  }

  /** The name, decoded as protobufjs decodes a string (malformed UTF-8 becomes U+FFFD). */
  get name(): string | undefined {
    return this.nameStart < 0 ? undefined : this.buf.toString("utf8", this.nameStart, this.nameEnd);
  }
}

/** The one scratch MetricRef of `scanPayload` (synchronous: never in use twice at once). */
const scanScratch = new MetricRef();

/** A Metric field's tag: every one fits in one byte; the general varint read is the fallback. */
function metricTag(reader: protobuf.Reader): number {
  const first = reader.buf[reader.pos]!;
  if (first >= 0x80) return reader.tag();
  reader.pos++;
  return first;
}

/** protobufjs's length prefix read (`size`: a varint32 that fails as `string`/`bytes` fail). */
function lengthOf(reader: protobuf.Reader): number {
  return (reader as unknown as { size(): number }).size();
}

/** Steps over a string or bytes field, failing where `reader.string()`/`bytes()` would. */
function skipDelimited(reader: protobuf.Reader): number {
  const length = lengthOf(reader);
  const start = reader.pos;
  if (start + length > reader.len)
    throw new RangeError(`index out of range: ${start} + ${length} > ${reader.len}`);
  reader.pos = start + length;
  return start;
}

/**
 * One metric for `scanPayload`: the same switch as `readMetric`, reading the alias and the
 * name's place; scalars are read by the same calls (they allocate nothing) and dropped;
 * strings and bytes are stepped over; nested messages (rare in DATA) are still decoded, so
 * that a malformed one fails here as it fails there.
 */
function scanMetric(reader: protobuf.Reader, end: number, m: MetricRef): void {
  m.alias = undefined;
  m.nameStart = -1;
  m.nameEnd = -1;
  while (reader.pos < end) {
    const tag = metricTag(reader);
    switch (tag) {
      case 16: // alias
        m.alias = reader.uint64() as unknown as number | bigint;
        break;
      case 24: // timestamp
      case 88: // long
        reader.uint64();
        break;
      case 80: // int
      case 32: // datatype
        reader.uint32();
        break;
      case 105: // double
        reader.double();
        break;
      case 101: // float
        reader.float();
        break;
      case 112: // boolean
      case 56: // is_null
      case 40: // is_historical
      case 48: // is_transient
        reader.bool();
        break;
      case 10: // name
        m.nameStart = skipDelimited(reader);
        m.nameEnd = reader.pos;
        break;
      case 122: // string
      case 130: // bytes
        skipDelimited(reader);
        break;
      case 66: // metadata
        MetaDataType.decode(reader, reader.uint32());
        break;
      case 74: // properties
        PropertySetType.decode(reader, reader.uint32());
        break;
      case 138: // dataset
        DataSetType.decode(reader, reader.uint32());
        break;
      case 146: // template
        TemplateType.decode(reader, reader.uint32());
        break;
      default:
        skip(reader, tag);
    }
  }
}

function emptyMetric(): RawMetric {
  return {
    name: undefined,
    alias: undefined,
    timestamp: undefined,
    datatype: undefined,
    isHistorical: undefined,
    isTransient: undefined,
    isNull: undefined,
    metadata: undefined,
    properties: undefined,
    intValue: undefined,
    longValue: undefined,
    floatValue: undefined,
    doubleValue: undefined,
    booleanValue: undefined,
    stringValue: undefined,
    bytesValue: undefined,
    datasetValue: undefined,
    templateValue: undefined,
    extensionValue: undefined,
  };
}

function readMetric(reader: protobuf.Reader, end: number, m: RawMetric): void {
  m.name = undefined;
  m.alias = undefined;
  m.timestamp = undefined;
  m.datatype = undefined;
  m.isHistorical = undefined;
  m.isTransient = undefined;
  m.isNull = undefined;
  m.metadata = undefined;
  m.properties = undefined;
  m.intValue = undefined;
  m.longValue = undefined;
  m.floatValue = undefined;
  m.doubleValue = undefined;
  m.booleanValue = undefined;
  m.stringValue = undefined;
  m.bytesValue = undefined;
  m.datasetValue = undefined;
  m.templateValue = undefined;
  m.extensionValue = undefined;
  while (reader.pos < end) {
    const tag = metricTag(reader);
    switch (tag) {
      case 16: // alias
        m.alias = reader.uint64() as unknown as number | bigint;
        break;
      case 24: // timestamp
        m.timestamp = reader.uint64() as unknown as number | bigint;
        break;
      case 80: // int
        m.intValue = reader.uint32();
        break;
      case 105: // double
        m.doubleValue = reader.double();
        break;
      case 101: // float
        m.floatValue = reader.float();
        break;
      case 112: // boolean
        m.booleanValue = reader.bool();
        break;
      case 88: // long
        m.longValue = reader.uint64() as unknown as number | bigint;
        break;
      case 122: // string
        m.stringValue = reader.string();
        break;
      case 10: // name
        m.name = reader.string();
        break;
      case 32: // datatype
        m.datatype = reader.uint32();
        break;
      case 56: // is_null
        m.isNull = reader.bool();
        break;
      case 40: // is_historical
        m.isHistorical = reader.bool();
        break;
      case 48: // is_transient
        m.isTransient = reader.bool();
        break;
      case 130: // bytes
        m.bytesValue = reader.bytes();
        break;
      case 66: // metadata
        m.metadata = MetaDataType.decode(reader, reader.uint32()) as RawMetric["metadata"];
        break;
      case 74: // properties
        m.properties = PropertySetType.decode(reader, reader.uint32()) as RawMetric["properties"];
        break;
      case 138: // dataset
        m.datasetValue = DataSetType.decode(reader, reader.uint32()) as RawMetric["datasetValue"];
        break;
      case 146: // template
        m.templateValue = TemplateType.decode(reader, reader.uint32()) as RawMetric["templateValue"];
        break;
      default:
        skip(reader, tag);
    }
  }
}

/*
 * The host's quiet lane reads most DATA messages a discovery ever sees, so it gets a reader
 * of its own: a plain loop over the bytes for the shape DATA nearly always has (seq,
 * timestamp, metrics of alias or name, timestamp, datatype and a scalar value, every tag one
 * byte). It reads the same tag literals checked above. Anything else, and anything odd (a
 * varint longer than its field allows, a field crossing its metric's end, a nested message,
 * uuid or body, an unknown field), is not judged here: it answers -1 and the message takes
 * the protobufjs reader, which accepts or reports it. So it never accepts what that reader
 * rejects; the differential test in test/unit/sparkplug/data-summary.test.ts holds it to it.
 */

/** Where `quickDataSeq` is in its bytes (one scan at a time, synchronous). */
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
 * The seq of a DATA payload in the common shape whose every metric `table` resolves, or -1
 * (then the protobufjs reader decides). Allocates nothing unless a metric is named.
 */
export function quickDataSeq(buf: Uint8Array, table: MetricTable): number {
  const end = buf.length;
  let seq = -1;
  quick = 0;
  while (quick < end) {
    const tag = buf[quick++]!;
    if (tag === 18) {
      // metrics: a length of at most 4 bytes reads the same as protobufjs's uint32().
      const length = quickVarint(buf, end, 4);
      if (length < 0 || quick + length > end) return -1;
      if (!quickMetric(buf, quick + length, table)) return -1;
    } else if (tag === 24) {
      seq = quickVarint(buf, end, 7);
      if (seq < 0) return -1;
    } else if (tag === 8) {
      if (!quickSkipVarint64(buf, end)) return -1;
    } else return -1;
  }
  return seq;
}

function quickMetric(buf: Uint8Array, end: number, table: MetricTable): boolean {
  let alias = -1;
  let nameStart = -1;
  let nameEnd = -1;
  while (quick < end) {
    switch (buf[quick++]) {
      case 16: // alias
        alias = quickVarint(buf, end, 7);
        if (alias < 0) return false;
        break;
      case 24: // timestamp
      case 88: // long
        if (!quickSkipVarint64(buf, end)) return false;
        break;
      case 32: // datatype
      case 80: // int
      case 112: // boolean
      case 56: // is_null
      case 40: // is_historical
      case 48: // is_transient
        // uint32(): five bytes at most, consumed whole.
        if (quickVarint(buf, end, 5) < 0) return false;
        break;
      case 105: // double
        quick += 8;
        if (quick > end) return false;
        break;
      case 101: // float
        quick += 4;
        if (quick > end) return false;
        break;
      case 10: // name
        nameStart = quickDelimited(buf, end);
        if (nameStart < 0) return false;
        nameEnd = quick;
        break;
      case 122: // string
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
