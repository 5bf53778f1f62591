import type protobuf from "protobufjs";
import { MetricTag, MetricType, PayloadTag } from "./field-tags.js";
import type { RawMetric } from "./proto.js";

/*
 * The hot path of decoding: the Payload message and its top-level Metrics, read field by
 * field with protobufjs's Reader, straight into the caller's hands. Every Sparkplug
 * message is a Payload with a list of Metrics, and a DATA message is little else, so
 * this loop runs for every metric of every message. protobufjs's generated decoder
 * would allocate a message object per metric only for us to copy it once more; here one
 * scratch object is reused. The fields are told apart by the tags of field-tags.ts
 * (checked against proto/sparkplug_b.proto at start-up); nested messages (MetaData,
 * PropertySet, DataSet, Template) are decoded by protobufjs's generated decoders.
 */

function nestedType(type: protobuf.Type, field: string): protobuf.Type {
  return type.fields[field]!.resolvedType as protobuf.Type;
}

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
      case PayloadTag.metrics: {
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
      case PayloadTag.timestamp:
        header.timestamp = reader.uint64() as unknown as number | bigint;
        break;
      case PayloadTag.seq:
        header.seq = reader.uint64() as unknown as number | bigint;
        break;
      case PayloadTag.uuid:
        header.uuid = reader.string();
        break;
      case PayloadTag.body:
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
      case MetricTag.alias:
        m.alias = reader.uint64() as unknown as number | bigint;
        break;
      case MetricTag.timestamp:
      case MetricTag.longValue:
        reader.uint64();
        break;
      case MetricTag.intValue:
      case MetricTag.datatype:
        reader.uint32();
        break;
      case MetricTag.doubleValue:
        reader.double();
        break;
      case MetricTag.floatValue:
        reader.float();
        break;
      case MetricTag.booleanValue:
      case MetricTag.isNull:
      case MetricTag.isHistorical:
      case MetricTag.isTransient:
        reader.bool();
        break;
      case MetricTag.name:
        m.nameStart = skipDelimited(reader);
        m.nameEnd = reader.pos;
        break;
      case MetricTag.stringValue:
      case MetricTag.bytesValue:
        skipDelimited(reader);
        break;
      case MetricTag.metadata:
        MetaDataType.decode(reader, reader.uint32());
        break;
      case MetricTag.properties:
        PropertySetType.decode(reader, reader.uint32());
        break;
      case MetricTag.datasetValue:
        DataSetType.decode(reader, reader.uint32());
        break;
      case MetricTag.templateValue:
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
      case MetricTag.alias:
        m.alias = reader.uint64() as unknown as number | bigint;
        break;
      case MetricTag.timestamp:
        m.timestamp = reader.uint64() as unknown as number | bigint;
        break;
      case MetricTag.intValue:
        m.intValue = reader.uint32();
        break;
      case MetricTag.doubleValue:
        m.doubleValue = reader.double();
        break;
      case MetricTag.floatValue:
        m.floatValue = reader.float();
        break;
      case MetricTag.booleanValue:
        m.booleanValue = reader.bool();
        break;
      case MetricTag.longValue:
        m.longValue = reader.uint64() as unknown as number | bigint;
        break;
      case MetricTag.stringValue:
        m.stringValue = reader.string();
        break;
      case MetricTag.name:
        m.name = reader.string();
        break;
      case MetricTag.datatype:
        m.datatype = reader.uint32();
        break;
      case MetricTag.isNull:
        m.isNull = reader.bool();
        break;
      case MetricTag.isHistorical:
        m.isHistorical = reader.bool();
        break;
      case MetricTag.isTransient:
        m.isTransient = reader.bool();
        break;
      case MetricTag.bytesValue:
        m.bytesValue = reader.bytes();
        break;
      case MetricTag.metadata:
        m.metadata = MetaDataType.decode(reader, reader.uint32()) as RawMetric["metadata"];
        break;
      case MetricTag.properties:
        m.properties = PropertySetType.decode(reader, reader.uint32()) as RawMetric["properties"];
        break;
      case MetricTag.datasetValue:
        m.datasetValue = DataSetType.decode(reader, reader.uint32()) as RawMetric["datasetValue"];
        break;
      case MetricTag.templateValue:
        m.templateValue = TemplateType.decode(reader, reader.uint32()) as RawMetric["templateValue"];
        break;
      default:
        skip(reader, tag);
    }
  }
}
