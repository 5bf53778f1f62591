import { DataType, dataTypeName } from "../sparkplug/datatype.js";
import { encodePayload } from "../sparkplug/encode.js";
import type { MetricTable } from "../sparkplug/metric-table.js";
import type { MetricValue } from "../sparkplug/payload.js";
import { edgeTopic } from "../sparkplug/topic.js";
import type { MonitoredDevice } from "./monitor-config.js";

/*
 * POST /command: a DCMD (or NCMD for an edge-node instance) that writes one metric. The
 * metric must exist in the device's birth and the value must fit its datatype (3.0: CMD
 * metrics SHOULD be in the birth and MUST carry a compatible value), so the edge node gets
 * exactly the type it declared.
 */

export type CommandResult =
  | { ok: true; topic: string; payload: Uint8Array; metric: string; datatype: string; value: string }
  | { ok: false; error: string };

const INT_RANGES: Partial<Record<DataType, [number, number]>> = {
  [DataType.Int8]: [-128, 127],
  [DataType.Int16]: [-32768, 32767],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt8]: [0, 255],
  [DataType.UInt16]: [0, 65535],
  [DataType.UInt32]: [0, 4294967295],
};

const BIG_RANGES: Partial<Record<DataType, [bigint, bigint]>> = {
  [DataType.Int64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DataType.UInt64]: [0n, 2n ** 64n - 1n],
  [DataType.DateTime]: [0n, 2n ** 64n - 1n],
};

/** The value as the datatype wants it, or why it does not fit. */
export function coerceValue(
  datatype: DataType,
  value: unknown,
): { ok: true; value: MetricValue } | { ok: false; error: string } {
  const name = dataTypeName(datatype);
  const intRange = INT_RANGES[datatype];
  if (intRange) {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < intRange[0] || n > intRange[1])
      return {
        ok: false,
        error: `${name} needs a whole number from ${intRange[0]} to ${intRange[1]}, got ${JSON.stringify(value)}`,
      };
    return { ok: true, value: n };
  }
  const bigRange = BIG_RANGES[datatype];
  if (bigRange) {
    let big: bigint | undefined;
    if (typeof value === "number" && Number.isSafeInteger(value)) big = BigInt(value);
    else if (typeof value === "string" && /^-?\d+$/.test(value.trim())) big = BigInt(value.trim());
    if (big === undefined || big < bigRange[0] || big > bigRange[1])
      return {
        ok: false,
        error: `${name} needs a whole number (as a decimal string beyond 2^53) from ${bigRange[0]} to ${bigRange[1]}, got ${JSON.stringify(value)}`,
      };
    return { ok: true, value: big };
  }
  switch (datatype) {
    case DataType.Float:
    case DataType.Double: {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || Number.isNaN(n))
        return { ok: false, error: `${name} needs a number, got ${JSON.stringify(value)}` };
      return { ok: true, value: n };
    }
    case DataType.Boolean:
      if (typeof value === "boolean") return { ok: true, value };
      if (value === "true" || value === "false") return { ok: true, value: value === "true" };
      return { ok: false, error: `Boolean needs true or false, got ${JSON.stringify(value)}` };
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      if (typeof value === "string") return { ok: true, value };
      return { ok: false, error: `${name} needs a string, got ${JSON.stringify(value)}` };
    default:
      return { ok: false, error: `metrics of datatype ${name} cannot be written with /command` };
  }
}

/** Builds the command that sets `metric` to `value` on the monitored device. */
export function buildCommand(
  device: Extract<MonitoredDevice, { mode: "sparkplug" }>,
  table: MetricTable | undefined,
  metric: unknown,
  value: unknown,
  now: number,
): CommandResult {
  if (typeof metric !== "string" || metric === "")
    return { ok: false, error: 'the body must be {"metric": "<name in the birth>", "value": …}' };
  if (!table)
    return { ok: false, error: "the device's birth has not been seen yet: its metrics are unknown" };
  const definition = table.get(metric);
  if (!definition)
    return { ok: false, error: `metric ${JSON.stringify(metric)} is not in the device's birth` };
  const coerced = coerceValue(definition.datatype, value);
  if (!coerced.ok) return { ok: false, error: `metric ${JSON.stringify(metric)}: ${coerced.error}` };
  const topic =
    device.device === undefined
      ? edgeTopic("NCMD", device.group, device.edge)
      : edgeTopic("DCMD", device.group, device.edge, device.device);
  const payload = encodePayload({
    timestamp: now,
    metrics: [{ name: metric, datatype: definition.datatype, value: coerced.value, timestamp: now }],
  });
  return {
    ok: true,
    topic,
    payload,
    metric,
    datatype: dataTypeName(definition.datatype),
    value: String(coerced.value),
  };
}
