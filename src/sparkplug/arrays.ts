import { DataType } from "./datatype.js";

/*
 * Sparkplug 3.0 array datatypes (22-34): little-endian packed elements in bytes_value.
 * Written from the specification's prose and the corrected examples of its 3.x errata
 * (the 3.0.0 text prints some examples big-endian). BooleanArray is a 4-byte LE element
 * count followed by the bits, most significant bit first; StringArray is NUL-terminated
 * UTF-8 strings.
 */

type ArrayValue = number[] | bigint[] | boolean[] | string[];

export interface ArrayResult {
  value: ArrayValue | null;
  problem?: string;
}

const elementSize: Partial<Record<number, number>> = {
  [DataType.Int8Array]: 1,
  [DataType.UInt8Array]: 1,
  [DataType.Int16Array]: 2,
  [DataType.UInt16Array]: 2,
  [DataType.Int32Array]: 4,
  [DataType.UInt32Array]: 4,
  [DataType.FloatArray]: 4,
  [DataType.Int64Array]: 8,
  [DataType.UInt64Array]: 8,
  [DataType.DoubleArray]: 8,
  [DataType.DateTimeArray]: 8,
};

const utf8 = new TextDecoder("utf-8");

/** Unpacks the bytes_value of an array datatype into its elements. */
export function unpackArray(datatype: number, bytes: Uint8Array): ArrayResult {
  if (datatype === DataType.BooleanArray) return unpackBooleans(bytes);
  if (datatype === DataType.StringArray) return unpackStrings(bytes);
  const size = elementSize[datatype];
  if (size === undefined) return { value: null, problem: `datatype ${datatype} is not an array type` };
  if (bytes.byteLength % size !== 0) {
    return {
      value: null,
      problem: `array of ${size}-byte elements has ${bytes.byteLength} bytes, not a multiple of ${size}`,
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.byteLength / size;
  switch (datatype) {
    case DataType.Int8Array:
      return { value: Array.from({ length: count }, (_, i) => view.getInt8(i)) };
    case DataType.UInt8Array:
      return { value: Array.from({ length: count }, (_, i) => view.getUint8(i)) };
    case DataType.Int16Array:
      return { value: Array.from({ length: count }, (_, i) => view.getInt16(i * 2, true)) };
    case DataType.UInt16Array:
      return { value: Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true)) };
    case DataType.Int32Array:
      return { value: Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true)) };
    case DataType.UInt32Array:
      return { value: Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true)) };
    case DataType.FloatArray:
      return { value: Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true)) };
    case DataType.DoubleArray:
      return { value: Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true)) };
    case DataType.Int64Array:
      return { value: Array.from({ length: count }, (_, i) => view.getBigInt64(i * 8, true)) };
    default:
      // UInt64Array, DateTimeArray
      return { value: Array.from({ length: count }, (_, i) => view.getBigUint64(i * 8, true)) };
  }
}

function unpackBooleans(bytes: Uint8Array): ArrayResult {
  if (bytes.byteLength < 4) {
    return { value: null, problem: `BooleanArray needs a 4-byte count, got ${bytes.byteLength} bytes` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const needed = 4 + Math.ceil(count / 8);
  if (bytes.byteLength < needed) {
    return {
      value: null,
      problem: `BooleanArray of ${count} elements needs ${needed} bytes, got ${bytes.byteLength}`,
    };
  }
  const value: boolean[] = new Array(count);
  for (let i = 0; i < count; i++) value[i] = (bytes[4 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0;
  return { value };
}

function unpackStrings(bytes: Uint8Array): ArrayResult {
  const value: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.byteLength; i++) {
    if (bytes[i] === 0) {
      value.push(utf8.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < bytes.byteLength) {
    value.push(utf8.decode(bytes.subarray(start)));
    return { value, problem: "StringArray does not end with a NUL terminator" };
  }
  return { value };
}

/** Packs array elements into the bytes_value of an array datatype. */
export function packArray(datatype: number, elements: readonly unknown[]): Uint8Array {
  if (datatype === DataType.BooleanArray) return packBooleans(elements as readonly boolean[]);
  if (datatype === DataType.StringArray) return packStrings(elements as readonly string[]);
  const size = elementSize[datatype];
  if (size === undefined) throw new TypeError(`datatype ${datatype} is not an array type`);
  const bytes = new Uint8Array(elements.length * size);
  const view = new DataView(bytes.buffer);
  const write = elementWriter(datatype, view);
  for (let i = 0; i < elements.length; i++) write(i * size, elements[i]);
  return bytes;
}

function elementWriter(datatype: number, view: DataView): (offset: number, element: unknown) => void {
  switch (datatype) {
    case DataType.Int8Array:
      return (o, e) => view.setInt8(o, Number(e));
    case DataType.UInt8Array:
      return (o, e) => view.setUint8(o, Number(e));
    case DataType.Int16Array:
      return (o, e) => view.setInt16(o, Number(e), true);
    case DataType.UInt16Array:
      return (o, e) => view.setUint16(o, Number(e), true);
    case DataType.Int32Array:
      return (o, e) => view.setInt32(o, Number(e), true);
    case DataType.UInt32Array:
      return (o, e) => view.setUint32(o, Number(e), true);
    case DataType.FloatArray:
      return (o, e) => view.setFloat32(o, Number(e), true);
    case DataType.DoubleArray:
      return (o, e) => view.setFloat64(o, Number(e), true);
    case DataType.Int64Array:
      return (o, e) => view.setBigInt64(o, BigInt(e as bigint | number), true);
    default:
      return (o, e) => view.setBigUint64(o, BigInt(e as bigint | number), true);
  }
}

function packBooleans(elements: readonly boolean[]): Uint8Array {
  const bytes = new Uint8Array(4 + Math.ceil(elements.length / 8));
  new DataView(bytes.buffer).setUint32(0, elements.length, true);
  elements.forEach((b, i) => {
    const at = 4 + (i >> 3);
    if (b) bytes[at] = (bytes[at] ?? 0) | (0x80 >> (i & 7));
  });
  return bytes;
}

function packStrings(elements: readonly string[]): Uint8Array {
  return Buffer.concat(elements.map((s) => Buffer.from(`${s}\0`, "utf8")));
}
