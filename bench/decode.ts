/*
 * Decode benchmark: the project's codec against Eclipse Tahu's sparkplug-payload
 * `decodePayload` on the same bytes, alternating in one run.
 *   NBIRTH: 100 metrics of mixed datatypes, each with name, alias, timestamp.
 *   NDATA:  10 alias-only metrics without datatypes (the 3.0 DATA form), decoded through
 *           the birth's table by ours; sparkplug-payload cannot type them (it returns
 *           null values), so it does less work there than we do.
 * Run: npm run bench:decode
 */
import { createRequire } from "node:module";
import { DataType } from "../src/sparkplug/datatype.js";
import { decodePayload } from "../src/sparkplug/decode.js";
import { encodePayload, type MetricInput } from "../src/sparkplug/encode.js";
import { MetricTable } from "../src/sparkplug/metric-table.js";
import {
  compareRates,
  formatRate,
  formatRatio,
  printTable,
  type SummaryRow,
  saveResults,
  sized,
} from "./lib/measure.js";

const require = createRequire(import.meta.url);
const tahu = require("sparkplug-payload").get("spBv1.0") as { decodePayload(b: Uint8Array): unknown };

const now = Date.UTC(2026, 0, 5);
const types = [
  DataType.Int32,
  DataType.Double,
  DataType.Boolean,
  DataType.Float,
  DataType.Int64,
  DataType.UInt16,
  DataType.String,
  DataType.DateTime,
  DataType.Int8,
  DataType.UInt32,
];

function sampleValue(type: DataType, i: number): MetricInput["value"] {
  switch (type) {
    case DataType.Double:
    case DataType.Float:
      return i * 1.5;
    case DataType.Boolean:
      return i % 2 === 0;
    case DataType.String:
      return `value ${i}`;
    case DataType.Int64:
    case DataType.DateTime:
      return BigInt(now + i);
    case DataType.Int8:
      return -(i % 100);
    default:
      return i;
  }
}

export function benchmarkPayloads(): { birth: Uint8Array; data: Uint8Array; table: MetricTable } {
  const birthMetrics: MetricInput[] = Array.from({ length: 100 }, (_, i) => {
    const type = types[i % types.length]!;
    return {
      name: `Line ${i % 7}/Cell ${i}/Value`,
      alias: i + 1,
      timestamp: now,
      datatype: type,
      value: sampleValue(type, i),
    };
  });
  const birth = encodePayload({ timestamp: now, seq: 0, metrics: birthMetrics });
  const data = encodePayload({
    timestamp: now + 1000,
    seq: 1,
    metrics: birthMetrics.slice(0, 10).map((m, i) => ({
      alias: m.alias,
      timestamp: now + 1000,
      datatype: m.datatype,
      omitDatatype: true,
      value: sampleValue(m.datatype, i + 1),
    })),
  });
  const decoded = decodePayload(birth);
  if (!decoded.ok) throw new Error("benchmark birth does not decode");
  return { birth, data, table: MetricTable.fromBirth(decoded.payload.metrics) };
}

async function main(): Promise<void> {
  const { birth, data, table } = benchmarkPayloads();
  const rounds = sized("BENCH_ROUNDS", 9, 1);
  const births = compareRates(
    { ours: () => decodePayload(birth), tahu: () => tahu.decodePayload(birth) },
    { rounds },
  );
  const datas = compareRates(
    { ours: () => decodePayload(data, { table }), tahu: () => tahu.decodePayload(data) },
    { rounds },
  );
  const birthRatio = births.ours! / births.tahu!;
  const dataRatio = datas.ours! / datas.tahu!;
  process.stdout.write(
    `decode: ${birth.length}-byte NBIRTH (100 metrics), ${data.length}-byte NDATA (10 alias-only metrics)\n\n`,
  );
  printTable(
    ["payload", "akri-mqtt", "sparkplug-payload 1.0.3", "ratio", "goal"],
    [
      [
        "NBIRTH 100 metrics",
        formatRate(births.ours!),
        formatRate(births.tahu!),
        `${birthRatio.toFixed(2)}x`,
        ">= 1x",
      ],
      [
        "NDATA 10 alias-only",
        formatRate(datas.ours!),
        formatRate(datas.tahu!),
        `${dataRatio.toFixed(2)}x`,
        ">= 2x",
      ],
    ],
  );
  const nbirth = { oursPerSecond: births.ours!, baselinePerSecond: births.tahu!, ratio: birthRatio, goal: 1 };
  const ndata = { oursPerSecond: datas.ours!, baselinePerSecond: datas.tahu!, ratio: dataRatio, goal: 2 };
  await saveResults("decode", { nbirth, ndata }, [
    summaryRow("decode NBIRTH (100 metrics)", nbirth, ">= 1x"),
    summaryRow("decode NDATA (10 alias-only)", ndata, ">= 2x"),
  ]);
}

function summaryRow(
  benchmark: string,
  f: { oursPerSecond: number; baselinePerSecond: number; ratio: number },
  goal: string,
): SummaryRow {
  return {
    benchmark,
    ours: formatRate(f.oursPerSecond),
    baseline: `sparkplug-payload ${formatRate(f.baselinePerSecond)}`,
    ratio: formatRatio(f.ratio),
    goal,
  };
}

await main();
