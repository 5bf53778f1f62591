import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { mosquittoAvailable } from "../support/mosquitto.js";

/*
 * The benchmark suite at a tiny size (BENCH_SIZE=tiny), so that it cannot rot: it builds,
 * every benchmark runs to the end against a real Mosquitto, and each writes its figures.
 * The figures themselves mean nothing at this size and are not judged. The start-up
 * benchmark starts the built CLI (dist/cli.js), which `npm test` builds first.
 */

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe.skipIf(!mosquittoAvailable())("npm run bench at a tiny size", () => {
  it("runs every benchmark to the end and records a figure and a baseline for each", async () => {
    // The package's own script (compile, then the pages beside the code), so the two never drift.
    const build = await run("npm", ["run", "bench:build"], {});
    expect(build.code, build.output).toBe(0);
    const results = join(await mkdtemp(join(tmpdir(), "akri-mqtt-bench-")), "tiny.json");
    const suite = await run(process.execPath, [join(ROOT, "dist-bench/bench/run-all.js")], {
      BENCH_SIZE: "tiny",
      BENCH_RESULTS: results,
    });
    expect(suite.code, suite.output).toBe(0);
    expect(suite.output).not.toMatch(/failed/);
    const figures = JSON.parse(await readFile(results, "utf8"));
    expect(Object.keys(figures).sort()).toStrictEqual(
      [
        "configurations",
        "decode",
        "ingest",
        "latency",
        "payloadFilter",
        "replay",
        "responseSize",
        "scale",
        "shards",
        "startup",
      ].sort(),
    );
    expect(figures.decode.nbirth.ratio).toBeGreaterThan(0);
    expect(figures.ingest.ratioToBare).toBeGreaterThan(0);
    expect(figures.scale.levels).toHaveLength(3);
    expect(figures.scale.generic.levels).toHaveLength(3);
    expect(figures.scale.coldStart.levels).toHaveLength(3);
    expect(figures.scale.brokers.ratio).toBeGreaterThan(0);
    expect(figures.configurations.rows).toHaveLength(5);
    expect(figures.latency.p99Ms).toBeGreaterThan(0);
    expect(figures.responseSize.largestList).toBeGreaterThan(0);
    expect(figures.replay.ratio).toBeGreaterThan(0);
    expect(figures.shards.ratio).toBeGreaterThan(0);
    expect(figures.payloadFilter.ratio).toBeGreaterThan(0);
    expect(figures.shards.listsOverLimit).toBe(0);
    expect(figures.startup.helpRatio).toBeGreaterThan(0);
    expect(figures.startup.serveRatio).toBeGreaterThan(0);
    expect(figures.startup.replayRatio).toBeGreaterThan(0);
    for (const heading of [
      "decode NBIRTH",
      "ingest via Mosquitto",
      "scale",
      "shards:",
      "Configurations",
      "latency",
      "response size",
      "replay",
      "start-up",
      "messageRegexp (a+)+$",
    ])
      expect(suite.output).toContain(heading);
  }, 420_000);
});
