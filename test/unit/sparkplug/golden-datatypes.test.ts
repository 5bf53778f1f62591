import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { decodePayload } from "../../../src/sparkplug/decode.js";
import { MetricTable } from "../../../src/sparkplug/metric-table.js";
import type { Metric, TemplateValue } from "../../../src/sparkplug/payload.js";
import { bytes, concat, float32, hex, M, payload, uint } from "../../support/protobuf-bytes.js";

/*
 * Golden decoding of every datatype from bytes that an independent encoder produced:
 * Eclipse Tahu's sparkplug-payload where it encodes correctly, and hand-built protobuf
 * (test/support/protobuf-bytes.ts) for what it cannot write: narrow signed integers the
 * Python way, UInt32 in int_value, the 3.0 array types, datatype-less DATA.
 */

const require = createRequire(import.meta.url);
const tahu = require("sparkplug-payload").get("spBv1.0") as { encodePayload(p: unknown): Uint8Array };
const Long = require("long") as {
  fromString(s: string, unsigned?: boolean): unknown;
  fromNumber(n: number, unsigned?: boolean): unknown;
};

function decodeMetrics(data: Uint8Array, table?: MetricTable): Metric[] {
  const result = decodePayload(data, { table });
  if (!result.ok) throw new Error(`decode failed: ${result.error.message}`);
  return result.payload.metrics;
}

function tahuMetric(metric: Record<string, unknown>): Metric {
  const [decoded] = decodeMetrics(tahu.encodePayload({ timestamp: 1, metrics: [metric] }));
  return decoded!;
}

describe("decoding every scalar datatype written by Tahu's sparkplug-payload", () => {
  const cases: [string, DataType, unknown, unknown][] = [
    ["Int8", DataType.Int8, -128, -128],
    ["Int8", DataType.Int8, 127, 127],
    ["Int16", DataType.Int16, -32768, -32768],
    ["Int32", DataType.Int32, -2147483648, -2147483648],
    ["Int32", DataType.Int32, 2147483647, 2147483647],
    ["Int64", DataType.Int64, Long.fromString("-9223372036854775808"), -9223372036854775808n],
    ["Int64", DataType.Int64, Long.fromString("9223372036854775807"), 9223372036854775807n],
    ["UInt8", DataType.UInt8, 255, 255],
    ["UInt16", DataType.UInt16, 65535, 65535],
    ["UInt32", DataType.UInt32, 4294967295, 4294967295],
    ["UInt64", DataType.UInt64, Long.fromString("18446744073709551615", true), 18446744073709551615n],
    ["UInt64", DataType.UInt64, Long.fromNumber(0, true), 0n],
    ["Float", DataType.Float, 1.5, 1.5],
    ["Double", DataType.Double, -1234.5678, -1234.5678],
    ["Boolean", DataType.Boolean, false, false],
    ["String", DataType.String, "Grüße ✓", "Grüße ✓"],
    ["DateTime", DataType.DateTime, Long.fromNumber(1256102875335, true), 1256102875335n],
    ["Text", DataType.Text, "two\nlines", "two\nlines"],
    ["UUID", DataType.UUID, "4b9e2f3a-7c1d-4e8f-9a2b-3c4d5e6f7a8b", "4b9e2f3a-7c1d-4e8f-9a2b-3c4d5e6f7a8b"],
  ];
  it.each(cases)("%s %#", (type, datatype, written, expected) => {
    const metric = tahuMetric({ name: "m", type, value: written });
    expect(metric.datatype).toBe(datatype);
    expect(metric.value).toStrictEqual(expected);
    expect(metric.problem).toBeUndefined();
  });

  it("Bytes and File as the exact bytes", () => {
    expect(
      Uint8Array.from(
        tahuMetric({ name: "b", type: "Bytes", value: new Uint8Array([0, 1, 254, 255]) }).value as Uint8Array,
      ),
    ).toStrictEqual(new Uint8Array([0, 1, 254, 255]));
    const file = tahuMetric({ name: "f", type: "File", value: new Uint8Array([104, 105]) });
    expect(file.datatype).toBe(DataType.File);
    expect(Buffer.from(file.value as Uint8Array).toString()).toBe("hi");
  });

  it("null metrics as null, never the protobuf default", () => {
    const metric = tahuMetric({ name: "n", type: "Int32", value: null });
    expect(metric).toMatchObject({ datatype: DataType.Int32, isNull: true, value: null });
  });

  it("historical and transient flags and the metric timestamp", () => {
    const metric = tahuMetric({
      name: "h",
      type: "Int32",
      value: 3,
      isHistorical: true,
      isTransient: true,
      timestamp: 5,
    });
    expect(metric).toMatchObject({ value: 3, isHistorical: true, isTransient: true, timestamp: 5 });
  });

  it("a DataSet with integer, 64-bit, float, boolean, string and DateTime columns", () => {
    const metric = tahuMetric({
      name: "ds",
      type: "DataSet",
      value: {
        numOfColumns: 6,
        columns: ["i8", "u64", "f", "b", "s", "t"],
        types: ["Int8", "UInt64", "Float", "Boolean", "String", "DateTime"],
        rows: [
          [
            -1,
            Long.fromString("18446744073709551615", true),
            0.5,
            true,
            "a",
            Long.fromNumber(1656107875000, true),
          ],
          [127, Long.fromNumber(0, true), -2.25, false, "", Long.fromNumber(0, true)],
        ],
      },
    });
    expect(metric.value).toStrictEqual({
      kind: "DataSet",
      columns: ["i8", "u64", "f", "b", "s", "t"],
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
        [127, 0n, -2.25, false, "", 0n],
      ],
    });
  });

  it("a Template definition and an instance with parameters and nested members", () => {
    const definition = tahuMetric({
      name: "_types_/Motor",
      type: "Template",
      value: {
        isDefinition: true,
        version: "1.0",
        metrics: [{ name: "RPM", type: "Int32", value: 0 }],
        parameters: [{ name: "Rated", type: "Int16", value: -2 }],
      },
    });
    expect(definition.value).toMatchObject({
      kind: "Template",
      isDefinition: true,
      version: "1.0",
      parameters: [{ name: "Rated", type: DataType.Int16, value: -2 }],
      metrics: [{ name: "RPM", datatype: DataType.Int32, value: 0 }],
    });
    expect((definition.value as TemplateValue).templateRef).toBeUndefined();
    const instance = tahuMetric({
      name: "Main",
      type: "Template",
      value: {
        isDefinition: false,
        templateRef: "_types_/Motor",
        metrics: [
          { name: "RPM", type: "Int32", value: -5 },
          {
            name: "Inner",
            type: "Template",
            value: { isDefinition: false, templateRef: "_types_/Motor", metrics: [] },
          },
        ],
      },
    });
    expect(instance.value).toMatchObject({
      kind: "Template",
      isDefinition: false,
      templateRef: "_types_/Motor",
      metrics: [
        { name: "RPM", value: -5 },
        {
          name: "Inner",
          datatype: DataType.Template,
          value: { kind: "Template", templateRef: "_types_/Motor" },
        },
      ],
    });
  });

  it("PropertySets, nested PropertySets, PropertySetLists and null properties", () => {
    const metric = tahuMetric({
      name: "p",
      type: "Int32",
      value: 1,
      properties: {
        Quality: { type: "Int32", value: 192 },
        Nested: { type: "PropertySet", value: { a: { type: "Int8", value: -1 } } },
        List: { type: "PropertySetList", value: [{ b: { type: "String", value: "x" } }, {}] },
        Unset: { type: "String", value: null },
      },
    });
    expect(metric.properties).toStrictEqual(
      new Map<string, unknown>([
        ["Quality", { type: DataType.Int32, value: 192 }],
        [
          "Nested",
          { type: DataType.PropertySet, value: new Map([["a", { type: DataType.Int8, value: -1 }]]) },
        ],
        [
          "List",
          {
            type: DataType.PropertySetList,
            value: [new Map([["b", { type: DataType.String, value: "x" }]]), new Map()],
          },
        ],
        ["Unset", { type: DataType.String, value: null }],
      ]),
    );
  });
});

/** One hand-built metric: name, datatype, and the given value field. */
function handMetric(datatype: number, valueField: Uint8Array, extra: Uint8Array[] = []): Metric {
  const [metric] = decodeMetrics(
    payload([concat(bytes(M.name, "m"), uint(M.datatype, datatype), valueField, ...extra)]),
  );
  return metric!;
}

describe("decoding integers the way each encoder writes them", () => {
  it.each([
    ["Int8 -1 sign-extended to 32 bits (Tahu Java)", DataType.Int8, uint(M.int, 4294967295), -1],
    ["Int8 -1 masked to 8 bits (Tahu Python)", DataType.Int8, uint(M.int, 255), -1],
    ["Int8 -128 Python style", DataType.Int8, uint(M.int, 128), -128],
    ["Int16 -1 Java style", DataType.Int16, uint(M.int, 4294967295), -1],
    ["Int16 -1 Python style", DataType.Int16, uint(M.int, 65535), -1],
    ["Int16 -32768 Python style", DataType.Int16, uint(M.int, 32768), -32768],
    ["Int32 -1", DataType.Int32, uint(M.int, 4294967295), -1],
    ["Int32 in long_value", DataType.Int32, uint(M.long, 18446744073709551615n), -1],
    ["UInt8 255", DataType.UInt8, uint(M.int, 255), 255],
    ["UInt16 in long_value", DataType.UInt16, uint(M.long, 65535), 65535],
    ["UInt32 in int_value (spec, Tahu Python)", DataType.UInt32, uint(M.int, 4294967295), 4294967295],
    ["UInt32 in long_value (Tahu Java, JS)", DataType.UInt32, uint(M.long, 4294967295), 4294967295],
  ])("%s", (_label, datatype, field, expected) => {
    const metric = handMetric(datatype, field);
    expect(metric.value).toBe(expected);
    expect(metric.problem).toBeUndefined();
  });

  it.each([
    ["Int64 min", DataType.Int64, 9223372036854775808n, -9223372036854775808n],
    ["Int64 max", DataType.Int64, 9223372036854775807n, 9223372036854775807n],
    ["Int64 -1", DataType.Int64, 18446744073709551615n, -1n],
    ["UInt64 max", DataType.UInt64, 18446744073709551615n, 18446744073709551615n],
    ["UInt64 2^53 + 1 (beyond double precision)", DataType.UInt64, 9007199254740993n, 9007199254740993n],
    ["DateTime", DataType.DateTime, 1656107875000n, 1656107875000n],
  ])("%s as an exact bigint", (_label, datatype, wire, expected) => {
    expect(handMetric(datatype, uint(M.long, wire)).value).toBe(expected);
  });

  it("reports a value field that does not fit the datatype instead of guessing", () => {
    const metric = handMetric(DataType.Boolean, bytes(M.string, "yes"));
    expect(metric.value).toBeNull();
    expect(metric.problem).toBe("datatype Boolean expects boolean_value, found string_value");
  });
});

describe("decoding the 3.0 array datatypes (corrected examples of the 3.x errata)", () => {
  it.each([
    ["Int8Array", DataType.Int8Array, "e97b", [-23, 123]],
    ["Int16Array", DataType.Int16Array, "d08a3075", [-30000, 30000]],
    ["Int32Array", DataType.Int32Array, "fffffffffaafcb12", [-1, 315338746]],
    [
      "Int64Array",
      DataType.Int64Array,
      "ce0672ac189cbac4c4ba9c18ac7206ce",
      [-4270929666821191986n, -3601064768563266876n],
    ],
    ["UInt8Array", DataType.UInt8Array, "17fa", [23, 250]],
    ["UInt16Array", DataType.UInt16Array, "1e0088cc", [30, 52360]],
    ["UInt32Array", DataType.UInt32Array, "3400000049fb55c4", [52, 3293969225]],
    ["UInt64Array", DataType.UInt64Array, "3400000000000000d99e02d1b27637e4", [52n, 16444743074749521625n]],
    ["DoubleArray", DataType.DoubleArray, "d7a205685bb528408e171c6f4cf78f40", [12.354213, 1022.9123213]],
    [
      "BooleanArray",
      DataType.BooleanArray,
      "0c00000034d0",
      [false, false, true, true, false, true, false, false, true, true, false, true],
    ],
    ["StringArray", DataType.StringArray, "4142430068656c6c6f00", ["ABC", "hello"]],
    [
      "DateTimeArray",
      DataType.DateTimeArray,
      "c7d0907524010000b8bab89781010000",
      [1256102875335n, 1656107875000n],
    ],
  ])("%s", (_label, datatype, bytesHex, expected) => {
    const metric = handMetric(datatype, bytes(M.bytes, hex(bytesHex)));
    expect(metric.value).toStrictEqual(expected);
    expect(metric.problem).toBeUndefined();
  });

  it("FloatArray (values as the nearest float32)", () => {
    const metric = handMetric(DataType.FloatArray, bytes(M.bytes, hex("a4709d3f98aeb242")));
    expect(metric.value).toStrictEqual([Math.fround(1.23), Math.fround(89.341)]);
  });

  it("ignores the don't-care pad bits of a BooleanArray", () => {
    expect(handMetric(DataType.BooleanArray, bytes(M.bytes, hex("0c00000034df"))).value).toHaveLength(12);
  });

  it("reports an array whose length is not a whole number of elements", () => {
    const metric = handMetric(DataType.Int32Array, bytes(M.bytes, hex("010203")));
    expect(metric.value).toBeNull();
    expect(metric.problem).toMatch(/3 bytes, not a multiple of 4/);
  });
});

describe("decoding alias-only DATA through the birth's table", () => {
  const birth = decodeMetrics(
    payload([
      concat(bytes(M.name, "Int8 value"), uint(M.alias, 1), uint(M.datatype, DataType.Int8), uint(M.int, 0)),
      concat(
        bytes(M.name, "UInt64 value"),
        uint(M.alias, 2),
        uint(M.datatype, DataType.UInt64),
        uint(M.long, 0),
      ),
      concat(bytes(M.name, "Level"), uint(M.alias, 3), uint(M.datatype, DataType.Float), float32(M.float, 0)),
      concat(
        bytes(M.name, "Flags"),
        uint(M.alias, 4),
        uint(M.datatype, DataType.BooleanArray),
        bytes(M.bytes, hex("00000000")),
      ),
    ]),
  );
  const table = MetricTable.fromBirth(birth);

  it("types and names the metrics that carry only an alias", () => {
    const data = payload(
      [
        concat(uint(M.alias, 1), uint(M.int, 255)),
        concat(uint(M.alias, 2), uint(M.long, 18446744073709551615n)),
        concat(uint(M.alias, 3), float32(M.float, 2.5)),
        concat(uint(M.alias, 4), bytes(M.bytes, hex("0300000080"))),
      ],
      { timestamp: 10, seq: 1 },
    );
    const metrics = decodeMetrics(data, table);
    expect(metrics.map((m) => [m.name, m.datatype, m.datatypeSource, m.value])).toStrictEqual([
      ["Int8 value", DataType.Int8, "birth", -1],
      ["UInt64 value", DataType.UInt64, "birth", 18446744073709551615n],
      ["Level", DataType.Float, "birth", 2.5],
      ["Flags", DataType.BooleanArray, "birth", [true, false, false]],
    ]);
  });

  it("says so when an alias is not in the birth, keeping the raw value", () => {
    const [metric] = decodeMetrics(payload([concat(uint(M.alias, 9), uint(M.int, 7))]), table);
    expect(metric).toMatchObject({ datatype: DataType.Unknown, datatypeSource: "none", value: 7 });
    expect(metric?.problem).toBe("no datatype in the metric and alias 9 is not in the birth");
  });
});
