import { DataType, dataTypeName } from "./datatype.js";
import type { ScalarValue, Uint64 } from "./payload.js";
import type { RawScalarFields } from "./proto.js";

/*
 * Interpreting the scalar value fields that Metric, PropertyValue, DataSetValue and
 * Template.Parameter share, by datatype. Encoders disagree on how signed integers sit in
 * the unsigned wire fields (Tahu Java sign-extends Int8 -1 to 4294967295, Tahu Python
 * writes 255) and on where UInt32 goes (int_value per the spec, long_value in Tahu Java/JS),
 * so every integer type reads whichever integer field is present, masks it to the
 * declared width and sign-extends it.
 */

/** Low 32 bits of an integer field value. */
function low32(v: Uint64): number {
  return typeof v === "number" ? v >>> 0 : Number(BigInt.asUintN(32, v));
}

function toBigInt(v: Uint64): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

/** Reads a 32-bit-family integer (Int8..UInt32) at its declared width. */
function readInt32Family(datatype: number, v: Uint64): number {
  const bits = low32(v);
  switch (datatype) {
    case DataType.Int8:
      return (bits << 24) >> 24;
    case DataType.Int16:
      return (bits << 16) >> 16;
    case DataType.Int32:
      return bits | 0;
    case DataType.UInt8:
      return bits & 0xff;
    case DataType.UInt16:
      return bits & 0xffff;
    default:
      return bits;
  }
}

/** Reads a 64-bit-family integer (Int64 signed; UInt64 and DateTime unsigned). */
function readInt64Family(datatype: number, v: Uint64, fromIntField: boolean): bigint {
  if (fromIntField) {
    // A 64-bit type written into the 32-bit field: widen, keeping Int64's sign.
    return datatype === DataType.Int64 ? BigInt((v as number) | 0) : BigInt((v as number) >>> 0);
  }
  const big = toBigInt(v);
  return datatype === DataType.Int64 ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big);
}

const valueFields: readonly [string, string][] = [
  ["intValue", "int_value"],
  ["longValue", "long_value"],
  ["floatValue", "float_value"],
  ["doubleValue", "double_value"],
  ["booleanValue", "boolean_value"],
  ["stringValue", "string_value"],
  ["bytesValue", "bytes_value"],
  ["datasetValue", "dataset_value"],
  ["templateValue", "template_value"],
  ["propertysetValue", "propertyset_value"],
  ["propertysetsValue", "propertysets_value"],
  ["extensionValue", "extension_value"],
];

/** The wire name of the value field a message carries, for error messages. */
export function presentValueField(raw: object): string {
  const record = raw as Record<string, unknown>;
  for (const [key, wireName] of valueFields) if (record[key] !== undefined) return wireName;
  return "no value field";
}

/**
 * Where interpretation problems go. Decoding a healthy message must not allocate for them,
 * so callers pass a collector that is only written to when something is wrong.
 */
export interface ProblemSink {
  push(problem: string): void;
}

/** Interprets a basic-type scalar (datatypes 1-15) from its value fields. */
export function readScalar(datatype: number, raw: RawScalarFields, problems: ProblemSink): ScalarValue {
  switch (datatype) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32: {
      const v = raw.intValue ?? raw.longValue;
      if (v === undefined) return mismatch(datatype, raw, "int_value or long_value", problems);
      return readInt32Family(datatype, v);
    }
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime: {
      if (raw.longValue !== undefined) return readInt64Family(datatype, raw.longValue, false);
      if (raw.intValue !== undefined) return readInt64Family(datatype, raw.intValue, true);
      return mismatch(datatype, raw, "long_value", problems);
    }
    case DataType.Float:
    case DataType.Double: {
      const v = raw.doubleValue ?? raw.floatValue;
      if (v === undefined) {
        return mismatch(
          datatype,
          raw,
          datatype === DataType.Float ? "float_value" : "double_value",
          problems,
        );
      }
      return v;
    }
    case DataType.Boolean:
      if (raw.booleanValue === undefined) return mismatch(datatype, raw, "boolean_value", problems);
      return raw.booleanValue;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      if (raw.stringValue === undefined) return mismatch(datatype, raw, "string_value", problems);
      return raw.stringValue;
    default:
      problems.push(`datatype ${datatype} is not a basic type`);
      return untypedScalar(raw);
  }
}

function mismatch(datatype: number, raw: RawScalarFields, expected: string, problems: ProblemSink): null {
  problems.push(`datatype ${dataTypeName(datatype)} expects ${expected}, found ${presentValueField(raw)}`);
  return null;
}

/** Best-effort value of a scalar whose datatype is unknown: the raw field, unsigned. */
export function untypedScalar(raw: RawScalarFields): ScalarValue {
  if (raw.intValue !== undefined) return raw.intValue;
  if (raw.longValue !== undefined) return toBigInt(raw.longValue);
  if (raw.floatValue !== undefined) return raw.floatValue;
  if (raw.doubleValue !== undefined) return raw.doubleValue;
  if (raw.booleanValue !== undefined) return raw.booleanValue;
  if (raw.stringValue !== undefined) return raw.stringValue;
  return null;
}
