/*
 * The whole benchmark suite: each benchmark in its own process (a clean heap each), one
 * after the other, then one summary table of every figure beside its baseline or goal.
 * Results: bench/results/latest.json.   Run: npm run bench
 */
import { spawnSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../src/paths.js";
import { printTable } from "./lib/measure.js";

const BENCHMARKS = ["decode", "ingest", "scale", "latency", "response-size", "replay"];

type Results = Record<string, Record<string, number | Record<string, number>[] | string>>;

const pct = (r: number) => `${r.toFixed(2)}x`;
const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`);

async function main(): Promise<void> {
  const resultsPath =
    process.env.BENCH_RESULTS ?? join(packageRoot(import.meta.url), "bench", "results", "latest.json");
  await rm(resultsPath, { force: true });
  const started = Date.now();
  const failed: string[] = [];
  for (const name of BENCHMARKS) {
    process.stdout.write(`\n=== ${name} ===\n`);
    const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
    const args = name === "scale" ? ["--expose-gc", script] : [script];
    const run = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (run.status !== 0) {
      process.stdout.write(`(${name} failed with exit code ${run.status})\n`);
      failed.push(name);
    }
  }
  const r = JSON.parse(await readFile(resultsPath, "utf8")) as Results;
  const rows: string[][] = [];
  const d = r.decode as Record<string, Record<string, number>> | undefined;
  if (d) {
    rows.push([
      "decode NBIRTH (100 metrics)",
      rate(d.nbirth!.oursPerSecond!),
      `sparkplug-payload ${rate(d.nbirth!.baselinePerSecond!)}`,
      pct(d.nbirth!.ratio!),
      ">= 1x",
    ]);
    rows.push([
      "decode NDATA (10 alias-only)",
      rate(d.ndata!.oursPerSecond!),
      `sparkplug-payload ${rate(d.ndata!.baselinePerSecond!)}`,
      pct(d.ndata!.ratio!),
      ">= 2x",
    ]);
  }
  const i = r.ingest as Record<string, number> | undefined;
  if (i) {
    rows.push([
      "ingest via Mosquitto, full pipeline",
      rate(i.pipelinePerSecond!),
      `bare mqtt.js ${rate(i.bareMqttJsPerSecond!)}`,
      pct(i.ratioToBare!),
      ">= 0.90x",
    ]);
    rows.push([
      "  same, vs the C client",
      rate(i.pipelinePerSecond!),
      `mosquitto_sub ${rate(i.mosquittoSubPerSecond!)}`,
      pct(i.ratioToMosquittoSub!),
      "(reported)",
    ]);
    rows.push([
      "  CPU per DATA message",
      `${i.pipelineCpuUsPerMessage!.toFixed(2)} µs`,
      `bare mqtt.js ${i.bareCpuUsPerMessage!.toFixed(2)} µs`,
      pct(i.cpuRatio ?? i.pipelineCpuUsPerMessage! / i.bareCpuUsPerMessage!),
      "<= 1.3x",
    ]);
  }
  const s = r.scale as
    | {
        levels: Record<string, number>[];
        cpuGrowth: number;
        generic: { levels: { devices: number; cpuUsPerMessage: number }[]; cpuGrowth: number };
        coldStart: { levels: { nodes: number; cpuUsPerMessage: number }[]; cpuGrowth: number };
        brokers: { nodes: number; oneBrokerCpuUs: number; twoBrokersCpuUs: number; ratio: number };
      }
    | undefined;
  if (s) {
    for (const level of s.levels) {
      rows.push([
        `scale ${level.devices!.toLocaleString()} devices`,
        `settled ${level.settleMs} ms`,
        `${(level.heapBytesPerDevice! / 1024).toFixed(2)} KiB heap, ${(level.rssBytesPerDevice! / 1024).toFixed(2)} KiB RSS /device`,
        `${level.cpuUsPerDataMessage!.toFixed(2)} µs/msg`,
        "<= 2000 ms, <= 2 KiB",
      ]);
    }
    rows.push(["  CPU/msg largest vs smallest plant", "", "", pct(s.cpuGrowth), "flat (~1x)"]);
    const g = s.generic;
    rows.push([
      "generic discovery CPU/msg",
      g.levels.map((l) => `${l.cpuUsPerMessage.toFixed(2)}`).join(" / ") + " µs",
      g.levels.map((l) => l.devices.toLocaleString()).join(" / ") + " topics",
      pct(g.cpuGrowth),
      "flat (~1x)",
    ]);
    const c = s.coldStart;
    rows.push([
      "cold start CPU/msg (unknown nodes)",
      `${c.levels.map((l) => l.cpuUsPerMessage.toFixed(2)).join(" / ")} µs`,
      `${c.levels.map((l) => l.nodes.toLocaleString()).join(" / ")} nodes`,
      pct(c.cpuGrowth),
      "flat (~1x)",
    ]);
    const b = s.brokers;
    rows.push([
      "two brokers vs one, CPU/DATA msg",
      `${b.twoBrokersCpuUs.toFixed(2)} µs`,
      `one broker ${b.oneBrokerCpuUs.toFixed(2)} µs (${b.nodes.toLocaleString()} nodes)`,
      pct(b.ratio),
      "~1x",
    ]);
  }
  const l = r.latency as Record<string, number> | undefined;
  if (l)
    rows.push([
      "latency DBIRTH → DiscoverResponse",
      `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms`,
      `window + 20 = ${l.goalMs} ms (with Nagle in broker and publisher: p99 ${(l.withNagle as unknown as Record<string, number> | undefined)?.p99Ms} ms)`,
      pct(l.ratio!),
      "p99 <= 1x",
    ]);
  const z = r.responseSize as Record<string, number> | undefined;
  if (z)
    rows.push([
      "response size",
      `${z.bytesPerDevice!.toFixed(0)} B/device`,
      `largest list ${z.largestList} under 4 MiB`,
      pct(z.ratio!),
      ">= 10,000 devices",
    ]);
  const p = r.replay as Record<string, number> | undefined;
  if (p)
    rows.push([
      `replay ${p.messages!.toLocaleString()} msgs (gzip)`,
      rate(p.oursPerSecond!),
      `bare ${rate(p.barePerSecond!)} (read + decode ${rate(p.baselinePerSecond!)}, ${pct(p.ratioToReadAndDecode!)})`,
      pct(p.ratio!),
      ">= 0.70x of bare",
    ]);
  process.stdout.write(
    `\n=== summary (${((Date.now() - started) / 1000).toFixed(0)} s, ${process.version}) ===\n\n`,
  );
  printTable(["benchmark", "akri-mqtt", "baseline", "ratio", "goal"], rows);
  if (failed.length > 0) {
    process.stdout.write(`\nfailed: ${failed.join(", ")}\n`);
    process.exitCode = 1;
  }
}

await main();
