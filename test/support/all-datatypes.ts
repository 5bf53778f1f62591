/*
 * Metrics that tests, fuzzers and the fixture builder (test/fixtures/build-quirks.ts) share:
 * one of every Sparkplug datatype, and the Motor template definition.
 */
import { DataType } from "../../src/sparkplug/datatype.js";
import type { MetricInput } from "../../src/sparkplug/encode.js";
import type { PropertySet, PropertyValue } from "../../src/sparkplug/payload.js";

/** When the hand-made fixtures start (their clock's zero). */
export const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

/** The `_types_/Motor` template definition. */
export const motorDefinition: MetricInput = {
  name: "_types_/Motor",
  datatype: DataType.Template,
  value: {
    kind: "Template",
    isDefinition: true,
    version: "1.0",
    parameters: [{ name: "Rated RPM", type: DataType.Int32, value: 1500 }],
    metrics: [
      { name: "RPM", datatype: DataType.Int32, value: 0 },
      { name: "Fault", datatype: DataType.Boolean, value: false },
    ],
  },
};

const props = (entries: [string, DataType, PropertyValue["value"]][]): PropertySet =>
  new Map(entries.map(([key, type, value]) => [key, { type, value }]));

/** Every metric datatype 1-34, plus DataSet, Template, PropertySet(List), null and historical metrics. */
export function allDatatypeMetrics(): MetricInput[] {
  return [
    { name: "Int8", alias: 1, datatype: DataType.Int8, value: -128 },
    { name: "Int16", alias: 2, datatype: DataType.Int16, value: -32768 },
    { name: "Int32", alias: 3, datatype: DataType.Int32, value: -2147483648 },
    { name: "Int64", alias: 4, datatype: DataType.Int64, value: -9223372036854775808n },
    { name: "UInt8", alias: 5, datatype: DataType.UInt8, value: 255 },
    { name: "UInt16", alias: 6, datatype: DataType.UInt16, value: 65535 },
    { name: "UInt32", alias: 7, datatype: DataType.UInt32, value: 4294967295 },
    { name: "UInt64", alias: 8, datatype: DataType.UInt64, value: 18446744073709551615n },
    { name: "Float", alias: 9, datatype: DataType.Float, value: 1.5 },
    { name: "Double", alias: 10, datatype: DataType.Double, value: -1234.5678 },
    { name: "Boolean", alias: 11, datatype: DataType.Boolean, value: true },
    { name: "String", alias: 12, datatype: DataType.String, value: "Grüße ✓" },
    { name: "DateTime", alias: 13, datatype: DataType.DateTime, value: 1256102875335n },
    { name: "Text", alias: 14, datatype: DataType.Text, value: "line one\nline two" },
    { name: "UUID", alias: 15, datatype: DataType.UUID, value: "4b9e2f3a-7c1d-4e8f-9a2b-3c4d5e6f7a8b" },
    {
      name: "DataSet",
      alias: 16,
      datatype: DataType.DataSet,
      value: {
        kind: "DataSet",
        columns: ["Int8", "UInt64", "Float", "Boolean", "String", "DateTime"],
        types: [
          DataType.Int8,
          DataType.UInt64,
          DataType.Float,
          DataType.Boolean,
          DataType.String,
          DataType.DateTime,
        ],
        rows: [
          [-1, 18446744073709551615n, 0.5, true, "a", 1656107875000n],
          [127, 0n, -2.25, false, "b", 0n],
        ],
      },
    },
    { name: "Bytes", alias: 17, datatype: DataType.Bytes, value: new Uint8Array([0, 1, 2, 254, 255]) },
    {
      name: "File",
      alias: 18,
      datatype: DataType.File,
      value: new Uint8Array(Buffer.from("hello file")),
      metadata: { contentType: "text/plain", fileName: "hello.txt", size: 10 },
    },
    { ...motorDefinition, alias: 19 },
    { name: "Int8Array", alias: 22, datatype: DataType.Int8Array, value: [-23, 123] },
    { name: "Int16Array", alias: 23, datatype: DataType.Int16Array, value: [-30000, 30000] },
    { name: "Int32Array", alias: 24, datatype: DataType.Int32Array, value: [-1, 315338746] },
    {
      name: "Int64Array",
      alias: 25,
      datatype: DataType.Int64Array,
      value: [-4270929666821191986n, -3601064768563266876n],
    },
    { name: "UInt8Array", alias: 26, datatype: DataType.UInt8Array, value: [23, 250] },
    { name: "UInt16Array", alias: 27, datatype: DataType.UInt16Array, value: [30, 52360] },
    { name: "UInt32Array", alias: 28, datatype: DataType.UInt32Array, value: [52, 3293969225] },
    { name: "UInt64Array", alias: 29, datatype: DataType.UInt64Array, value: [52n, 16444743074749521625n] },
    { name: "FloatArray", alias: 30, datatype: DataType.FloatArray, value: [1.23, 89.341] },
    { name: "DoubleArray", alias: 31, datatype: DataType.DoubleArray, value: [12.354213, 1022.9123213] },
    {
      name: "BooleanArray",
      alias: 32,
      datatype: DataType.BooleanArray,
      value: [false, false, true, true, false, true, false, false, true, true, false, true],
    },
    { name: "StringArray", alias: 33, datatype: DataType.StringArray, value: ["ABC", "hello"] },
    {
      name: "DateTimeArray",
      alias: 34,
      datatype: DataType.DateTimeArray,
      value: [1256102875335n, 1656107875000n],
    },
    {
      name: "With properties",
      alias: 35,
      datatype: DataType.Int32,
      value: 7,
      properties: props([
        ["Quality", DataType.Int32, 192],
        ["Engineering Units", DataType.String, "rpm"],
        ["Limits", DataType.PropertySet, props([["High", DataType.Double, 99.5]])],
        [
          "History",
          DataType.PropertySetList,
          [props([["At", DataType.DateTime, 1256102875335n]]), props([["At", DataType.DateTime, 0n]])],
        ],
        ["Missing", DataType.String, null],
      ]),
    },
    { name: "Null value", alias: 36, datatype: DataType.Double, value: null },
    {
      name: "Historical",
      alias: 37,
      datatype: DataType.Int32,
      value: 5,
      isHistorical: true,
      timestamp: T0 - 60_000,
    },
    { name: "Transient", alias: 38, datatype: DataType.Boolean, value: false, isTransient: true },
    {
      name: "Main Motor",
      alias: 39,
      datatype: DataType.Template,
      value: {
        kind: "Template",
        isDefinition: false,
        templateRef: "_types_/Motor",
        metrics: [
          { name: "RPM", datatype: DataType.Int32, value: 1200 },
          { name: "Fault", datatype: DataType.Boolean, value: true },
          {
            name: "Nested",
            datatype: DataType.Template,
            value: {
              kind: "Template",
              isDefinition: false,
              templateRef: "_types_/Motor",
              metrics: [{ name: "RPM", datatype: DataType.Int32, value: -1 }],
            },
          },
        ],
      },
    },
  ];
}
