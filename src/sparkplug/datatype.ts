/** Sparkplug B datatype numbers (3.0 `DataType` enum). */
export const DataType = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
  Int8Array: 22,
  Int16Array: 23,
  Int32Array: 24,
  Int64Array: 25,
  UInt8Array: 26,
  UInt16Array: 27,
  UInt32Array: 28,
  UInt64Array: 29,
  FloatArray: 30,
  DoubleArray: 31,
  BooleanArray: 32,
  StringArray: 33,
  DateTimeArray: 34,
} as const;

export type DataTypeName = keyof typeof DataType;
/** A known Sparkplug datatype number. */
export type DataType = (typeof DataType)[DataTypeName];

const names: readonly string[] = Object.keys(DataType);

/** True when `n` is one of the 35 datatype numbers the 3.0 enum defines. */
export function isDataType(n: number): n is DataType {
  return Number.isInteger(n) && n >= 0 && n <= 34;
}

/** The enum name of a datatype number, or `Unknown(n)` for a number outside the enum. */
export function dataTypeName(n: number): string {
  return isDataType(n) ? names[n]! : `Unknown(${n})`;
}

/** Integer types carried in the 32-bit `int_value` field by the 3.0 datatype table. */
export function isInt32Family(t: number): boolean {
  return (t >= DataType.Int8 && t <= DataType.Int32) || (t >= DataType.UInt8 && t <= DataType.UInt32);
}

/** Integer types carried in the 64-bit `long_value` field. */
export function isInt64Family(t: number): boolean {
  return t === DataType.Int64 || t === DataType.UInt64 || t === DataType.DateTime;
}

/** Array datatypes (22-34), packed little-endian into `bytes_value`. */
export function isArrayType(t: number): boolean {
  return t >= DataType.Int8Array && t <= DataType.DateTimeArray;
}
