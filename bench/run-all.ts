/*
 * The whole benchmark suite: each benchmark in its own process (a clean heap each), one
 * after the other, then one summary table of every figure beside its baseline or goal:
 * the lines each benchmark saved with its figures, in the order they ran.
 * Results: bench/results/latest.json.   Run: npm run bench
 */
import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printTable, readResults, resultsFile } from "./lib/measure.js";

const BENCHMARKS = [
  "decode",
  "ingest",
  "scale",
  "configurations",
  "shards",
  "latency",
  "response-size",
  "replay",
  "startup",
  "payload-filter",
];
/** Those that weigh the heap after a full GC. */
const EXPOSE_GC = new Set(["scale"]);

async function main(): Promise<void> {
  await rm(resultsFile, { force: true });
  const started = Date.now();
  const failed: string[] = [];
  for (const name of BENCHMARKS) {
    process.stdout.write(`\n=== ${name} ===\n`);
    const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
    const args = EXPOSE_GC.has(name) ? ["--expose-gc", script] : [script];
    const run = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (run.status !== 0) {
      process.stdout.write(`(${name} failed with exit code ${run.status})\n`);
      failed.push(name);
    }
  }
  // The file was emptied above, so its entries are in the order the benchmarks saved them.
  const rows = Object.values(await readResults()).flatMap((saved) =>
    (saved.summary ?? []).map((r) => [r.benchmark, r.ours, r.baseline, r.ratio, r.goal]),
  );
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
