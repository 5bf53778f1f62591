import { describe, expect, it } from "vitest";
import { buildCommand, coerceValue } from "../../../src/monitor/device-command.js";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { decodePayload } from "../../../src/sparkplug/decode.js";
import { MetricTable } from "../../../src/sparkplug/metric-table.js";

/* POST /command: a value must fit the datatype the birth declared. */

const device = { mode: "sparkplug" as const, id: "spBv1.0/G/E/D", group: "G", edge: "E", device: "D" };

describe("commands to a device", () => {
  it.each([
    [DataType.Int8, 127, 127],
    [DataType.Int8, "-128", -128],
    [DataType.UInt32, 4294967295, 4294967295],
    [DataType.Int64, "-9223372036854775808", -9223372036854775808n],
    [DataType.UInt64, 42, 42n],
    [DataType.Double, "2.5", 2.5],
    [DataType.Boolean, "true", true],
    [DataType.String, "on", "on"],
  ])("datatype %i takes %s", (datatype, input, expected) => {
    expect(coerceValue(datatype, input)).toStrictEqual({ ok: true, value: expected });
  });

  it.each([
    [DataType.Int8, 128],
    [DataType.UInt16, -1],
    [DataType.Int32, 1.5],
    [DataType.UInt64, "1e3"],
    [DataType.Boolean, 1],
    [DataType.String, 5],
    [DataType.DataSet, {}],
    [DataType.Int32Array, [1]],
  ])("datatype %i refuses %s", (datatype, input) => {
    expect(coerceValue(datatype, input).ok).toBe(false);
  });

  it("builds a DCMD with the birth's datatype, a timestamp and no seq", () => {
    const table = MetricTable.fromBirth([
      {
        name: "Setpoint",
        alias: 3,
        datatype: DataType.Float,
        datatypeSource: "metric",
        value: 1,
        isNull: false,
        isHistorical: false,
        isTransient: false,
      },
    ]);
    const built = buildCommand(device, table, "Setpoint", 21.5, 1_700_000_000_000);
    expect(built.ok && built.topic).toBe("spBv1.0/G/DCMD/E/D");
    if (!built.ok) return;
    const decoded = decodePayload(built.payload);
    expect(decoded.ok && decoded.payload.seq).toBeUndefined();
    expect(decoded.ok && decoded.payload.timestamp).toBe(1_700_000_000_000);
    expect(decoded.ok && decoded.payload.metrics[0]).toMatchObject({
      name: "Setpoint",
      datatype: DataType.Float,
      value: 21.5,
    });
  });

  it("refuses a metric that is not in the birth, or before any birth", () => {
    const table = MetricTable.fromBirth([]);
    expect(buildCommand(device, table, "Nope", 1, 0)).toMatchObject({
      ok: false,
      error: expect.stringContaining("not in the device's birth"),
    });
    expect(buildCommand(device, undefined, "Nope", 1, 0)).toMatchObject({
      ok: false,
      error: expect.stringContaining("birth has not been seen"),
    });
  });
});
