/*
 * Replay: `discover --replay` of a 1,000,000-message gzip fixture through the whole
 * pipeline (virtual time, host model, inventory, lists), against two baselines that read
 * the same file without the pipeline, all in this process, alternating:
 *   - bare: gunzip, split into lines, JSON.parse, base64 decode, and the protobufjs
 *     decoder that sparkplug-payload ships (what any replay tool must do at the least);
 *   - read + decode: our fixture reader and our decoder with the birth tables.
 * Run: npm run bench:replay   (BENCH_REPLAY_MESSAGES sets the size)
 */
import SparkplugProto from "sparkplug-payload/lib/sparkplugPayloadProto.js";
import { parseDiscoveryDetails } from "../src/discovery/modes/modes.js";
import { decodePayload } from "../src/sparkplug/decode.js";
import { MetricTable } from "../src/sparkplug/metric-table.js";
import { parseTopic } from "../src/sparkplug/topic.js";
import { readFixture } from "../src/streams/fixture-file.js";
import { replayFixture } from "../src/streams/replay.js";
import { bareRead } from "./lib/bare-read.js";
import { formatRate, formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";
import { replayBenchFixture } from "./lib/replay-fixture.js";

const MESSAGES = sized("BENCH_REPLAY_MESSAGES", 1_000_000, 5_000);

/** The bare baseline: gunzip, lines, JSON, base64, sparkplug-payload's protobufjs decoder. */
function bare(path: string): Promise<number> {
  const Payload = SparkplugProto.org.eclipse.tahu.protobuf.Payload;
  return bareRead(path, (payload) => Payload.decode(payload));
}

/** The baseline: read and decode every message, tables from the births, no pipeline. */
async function readAndDecode(path: string): Promise<number> {
  const tables = new Map<string, MetricTable>();
  let count = 0;
  for await (const entry of readFixture(path)) {
    if (entry.kind !== "message") continue;
    const topic = parseTopic(entry.message.topic);
    if (topic.kind !== "node" && topic.kind !== "device") continue;
    const key = entry.message.topic.replace(/\/(N|D)(BIRTH|DATA)\//, "/");
    const decoded = decodePayload(entry.message.payload, { table: tables.get(key) });
    if (decoded.ok && topic.verb.endsWith("BIRTH"))
      tables.set(key, MetricTable.fromBirth(decoded.payload.metrics));
    count++;
  }
  return count;
}

async function pipeline(path: string): Promise<number> {
  const details = parseDiscoveryDetails("serverUrls: [tcp://bench:1883]");
  if (!details.ok) throw new Error(details.error);
  let lists = 0;
  const { messages } = await replayFixture(path, details.details, (output) => {
    lists += output.emissions.length;
  });
  if (lists === 0) throw new Error("the replay produced no device list");
  return messages;
}

async function timed(run: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const count = await run();
  return count / ((performance.now() - start) / 1000);
}

export async function main(): Promise<void> {
  const started = performance.now();
  const path = await replayBenchFixture(MESSAGES);
  process.stdout.write(
    `replay: ${MESSAGES.toLocaleString()} messages (${path}, built in ${((performance.now() - started) / 1000).toFixed(1)} s)\n\n`,
  );
  const bareRates: number[] = [];
  const baseline: number[] = [];
  const ours: number[] = [];
  const rounds = sized("BENCH_ROUNDS", 3, 1);
  for (let r = 0; r < rounds; r++) {
    bareRates.push(await timed(() => bare(path)));
    baseline.push(await timed(() => readAndDecode(path)));
    ours.push(await timed(() => pipeline(path)));
  }
  const bb = median(bareRates);
  const b = median(baseline);
  const o = median(ours);
  printTable(
    ["path", "messages/s", "vs bare", "vs read + decode", "goal"],
    [
      ["bare: gunzip, lines, JSON, base64, protobufjs", formatRate(bb), "1.00x", "", ""],
      ["read + decode (our reader and decoder)", formatRate(b), `${(b / bb).toFixed(2)}x`, "1.00x", ""],
      [
        "discover --replay pipeline",
        formatRate(o),
        `${(o / bb).toFixed(2)}x`,
        `${(o / b).toFixed(2)}x`,
        ">= 0.70x of bare",
      ],
    ],
  );
  await saveResults(
    "replay",
    {
      messages: MESSAGES,
      barePerSecond: bb,
      baselinePerSecond: b,
      oursPerSecond: o,
      ratio: o / bb,
      ratioToReadAndDecode: o / b,
      goal: 0.7,
    },
    [
      {
        benchmark: `replay ${MESSAGES.toLocaleString()} msgs (gzip)`,
        ours: formatRate(o),
        baseline: `bare ${formatRate(bb)} (read + decode ${formatRate(b)}, ${formatRatio(o / b)})`,
        ratio: formatRatio(o / bb),
        goal: ">= 0.70x of bare",
      },
    ],
  );
}

await main();
