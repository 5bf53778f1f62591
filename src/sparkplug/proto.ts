import protobuf from "protobufjs";
import { packageFile } from "../paths.js";
import type { Uint64 } from "./payload.js";

/*
 * The wire layer: protobufjs types generated at start-up from the project's own
 * proto/sparkplug_b.proto, with three adjustments.
 *
 * 1. Presence and shape. proto2 distinguishes an absent field from one set to its
 *    default, and Sparkplug depends on it (a DATA metric without `datatype`, `is_null`
 *    without a value). protobufjs reads absent fields from prototype defaults (0, "").
 *    Each type gets a constructor (protobufjs's custom-class hook) that sets every field
 *    to undefined, in one order: absent reads as undefined, and all messages of a type
 *    share one hidden class, which keeps the code that reads them monomorphic.
 * 2. 64-bit integers. protobufjs returns uint64 as Long objects. Our reader returns a
 *    number while the value is a safe integer and a bigint above it, without allocating
 *    a Long per field (timestamps and aliases are in every metric of every DATA message).
 * 3. Oneofs. A oneof is a constraint, not a wire construct: its members are ordinary
 *    optional fields on the wire. protobufjs's generated decoder calls a setter per value
 *    that deletes the other nine members (a third of all decode time), so the members are
 *    detached from their oneof here and read by datatype, as Sparkplug requires anyway.
 */

const protoPath = packageFile("proto/sparkplug_b.proto", import.meta.url);

const root = protobuf.loadSync(protoPath);
root.resolveAll();

/** A constructor assigning each field literally (a loop of keyed stores would not give one fast shape). */
function messageConstructor(fieldNames: readonly string[]): protobuf.Constructor<object> {
  const body = fieldNames.map((name) => `this.${name} = undefined;`).join("\n");
  // Field names come from our own .proto file, and protobufjs generates its codecs the same way.
  return new Function(body) as protobuf.Constructor<object>;
}

function prepareTypes(namespace: protobuf.NamespaceBase): void {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) {
      for (const oneof of nested.oneofsArray) {
        for (const field of [...oneof.fieldsArray]) oneof.remove(field);
        nested.remove(oneof);
      }
      nested.ctor = messageConstructor(nested.fieldsArray.map((f) => f.name));
      nested.setup();
    }
    if (nested instanceof protobuf.Namespace) prepareTypes(nested);
  }
}
prepareTypes(root);

/** The protobufjs type of `org.eclipse.tahu.protobuf.Payload`. */
export const PayloadType = root.lookupType("org.eclipse.tahu.protobuf.Payload");

const TWO_POW_32 = 4294967296;

/** A BufferReader whose uint64() yields `Uint64` (number or bigint) instead of a Long. */
class SparkplugReader extends protobuf.BufferReader {}

function readUint64(this: SparkplugReader): Uint64 {
  const buf = this.buf;
  let pos = this.pos;
  if (pos < this.len) {
    // Aliases and small values: one byte.
    const first = buf[pos]!;
    if (first < 0x80) {
      this.pos = pos + 1;
      return first;
    }
  }
  let value = 0;
  let scale = 1;
  // Up to 7 bytes (49 bits) the sum stays exact in a double.
  for (let i = 0; i < 7; i++) {
    if (pos >= this.len) throw indexOutOfRange(this, pos);
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    scale *= 128;
  }
  let big = BigInt(value);
  let shift = 49n;
  for (let i = 7; i < 10; i++) {
    if (pos >= this.len) throw indexOutOfRange(this, pos);
    const b = buf[pos++]!;
    big |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      this.pos = pos;
      big = BigInt.asUintN(64, big);
      return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    shift += 7n;
  }
  this.pos = pos;
  throw new Error(`invalid varint encoding at offset ${pos}`);
}

function indexOutOfRange(reader: SparkplugReader, pos: number): RangeError {
  return new RangeError(`index out of range: ${pos} + 1 > ${reader.len}`);
}

(SparkplugReader.prototype as unknown as { uint64: () => Uint64 }).uint64 = readUint64;

/** A reader over `bytes` that the generated decoders accept, with the behaviour above. */
export function createReader(bytes: Uint8Array): protobuf.Reader {
  const reader = new SparkplugReader(asBuffer(bytes));
  // Unknown fields (extensions, future versions) are skipped, not kept.
  (reader as unknown as { discardUnknown: boolean }).discardUnknown = true;
  return reader;
}

/** Converts a Uint64 to the {low, high} pair protobufjs writers accept. */
export function toLongBits(value: bigint | number): { low: number; high: number; unsigned: true } {
  if (typeof value === "number") {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
      return { low: value >>> 0, high: Math.floor(value / TWO_POW_32) >>> 0, unsigned: true };
    }
    value = BigInt(Math.trunc(value));
  }
  const u = BigInt.asUintN(64, value);
  return { low: Number(u & 0xffffffffn) >>> 0, high: Number(u >> 32n) >>> 0, unsigned: true };
}

// Shapes of decoded wire messages (camelCase, as protobufjs names them). Absent = undefined.

/** The oneof value members shared (by name) by Metric, PropertyValue, DataSetValue and Parameter. */
export interface RawScalarFields {
  intValue?: number;
  longValue?: Uint64;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface RawMetric extends RawScalarFields {
  name?: string;
  alias?: Uint64;
  timestamp?: Uint64;
  datatype?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  metadata?: RawMetaData;
  properties?: RawPropertySet;
  bytesValue?: Uint8Array;
  datasetValue?: RawDataSet;
  templateValue?: RawTemplate;
  extensionValue?: object;
}

export interface RawMetaData {
  isMultiPart?: boolean;
  contentType?: string;
  size?: Uint64;
  seq?: Uint64;
  fileName?: string;
  fileType?: string;
  md5?: string;
  description?: string;
}

export interface RawPropertySet {
  keys?: string[];
  values?: RawPropertyValue[];
}

export interface RawPropertyValue extends RawScalarFields {
  type?: number;
  isNull?: boolean;
  propertysetValue?: RawPropertySet;
  propertysetsValue?: { propertyset?: RawPropertySet[] };
  extensionValue?: object;
}

export interface RawDataSet {
  numOfColumns?: Uint64;
  columns?: string[];
  types?: number[];
  rows?: { elements?: RawScalarFields[] }[];
}

export interface RawTemplate {
  version?: string;
  metrics?: RawMetric[];
  parameters?: (RawScalarFields & { name?: string; type?: number })[];
  templateRef?: string;
  isDefinition?: boolean;
}

/** The bytes as a Buffer: themselves if they are one, else a view of the same memory. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Points a reader made by `createReader` at other bytes, from their start (no new reader). */
export function resetReader(reader: protobuf.Reader, bytes: Uint8Array): void {
  const buffer = asBuffer(bytes);
  reader.buf = buffer;
  reader.pos = 0;
  reader.len = buffer.length;
}
