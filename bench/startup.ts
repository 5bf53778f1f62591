/*
 * Start-up: whole processes as a user runs them, each against a baseline process spawned
 * in the same rounds (alternating, median of the rounds):
 *   - `akri-mqtt --help` against `node -e 0`;
 *   - `akri-mqtt serve` from spawn to its registration seen by the agent (the test agent
 *     plays it) against `node -e 0`;
 *   - `discover --replay FIXTURE --once` of a ~311k-message gzip fixture against a bare
 *     process that only gunzips, splits, JSON.parses, base64-decodes and protobufjs-decodes
 *     the same file (bench/lib/bare-decode.ts).
 * It runs the built package (dist/cli.js, `npm run build`), not the benchmark build: that
 * is what users and the image start.
 * Run: npm run bench:startup   (BENCH_STARTUP_REPLAY_MESSAGES sets the fixture's size,
 * BENCH_STARTUP_CLI another build to start)
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageFile, packageRoot } from "../src/paths.js";
import { TestAgent } from "../test/support/akri-agent.js";
import { formatRate, formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";
import { replayBenchFixture } from "./lib/replay-fixture.js";

/** BENCH_STARTUP_CLI measures another build (e.g. an older commit's dist/cli.js) with the same rounds. */
const CLI = process.env.BENCH_STARTUP_CLI || join(packageRoot(import.meta.url), "dist", "cli.js");
const BARE_DECODE = fileURLToPath(new URL("./lib/bare-decode.js", import.meta.url));
const REPLAY_MESSAGES = sized("BENCH_STARTUP_REPLAY_MESSAGES", 311_000, 5_000);
const ROUNDS = sized("BENCH_ROUNDS", 7, 1);
const REPLAY_ROUNDS = sized("BENCH_ROUNDS", 3, 1);

/** Milliseconds from spawning `node <args>` to its exit; a failed run is an error. */
function spawnToExit(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(" ")} exited with ${code}: ${stderr}`));
    });
  });
}

/** Milliseconds from spawning `akri-mqtt serve` to the agent receiving its registration. */
async function spawnToRegistration(): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-bench-startup-"));
  let registeredAt: number | undefined;
  const agent = new TestAgent(directory, () => {
    registeredAt ??= performance.now();
  });
  await agent.start();
  const started = performance.now();
  const handler = spawn(process.execPath, [CLI, "serve", "--http-port", "0", "--http-host", "127.0.0.1"], {
    env: { ...process.env, DISCOVERY_HANDLERS_DIRECTORY: directory, AGENT_NODE_NAME: "bench" },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => handler.on("exit", resolve));
  try {
    await agent.waitForRegistrations(1, 30_000);
    return registeredAt! - started;
  } finally {
    handler.kill("SIGTERM");
    await exited;
    await agent.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Runs each candidate once per round, alternating their order; the median of each. */
async function alternate(
  rounds: number,
  candidates: Record<string, () => Promise<number>>,
): Promise<Record<string, number>> {
  const names = Object.keys(candidates);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples[name]!.push(await candidates[name]!());
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

export async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const fixture = await replayBenchFixture(REPLAY_MESSAGES);
  const details = join(await mkdtemp(join(tmpdir(), "akri-mqtt-bench-startup-")), "details.yaml");
  await writeFile(details, "serverUrls: [tcp://bench:1883]\n");
  const proto = packageFile("proto/sparkplug_b.proto", import.meta.url);

  // One spawn of each first, unmeasured: the files are in the page cache for every round.
  await spawnToExit(["-e", "0"]);
  await spawnToExit([CLI, "--help"]);
  const start = await alternate(ROUNDS, {
    node: () => spawnToExit(["-e", "0"]),
    help: () => spawnToExit([CLI, "--help"]),
    serve: spawnToRegistration,
  });
  const replay = await alternate(REPLAY_ROUNDS, {
    bare: () => spawnToExit([BARE_DECODE, fixture, proto]),
    discover: () => spawnToExit([CLI, "discover", "--details", details, "--replay", fixture, "--once"]),
  });
  const node = start.node!;
  const help = start.help! / node;
  const serve = start.serve! / node;
  const rate = (ms: number) => REPLAY_MESSAGES / (ms / 1000);
  const replayRatio = replay.bare! / replay.discover!;

  process.stdout.write(
    `startup: medians of ${ROUNDS} spawns (replay: ${REPLAY_ROUNDS}, ${REPLAY_MESSAGES.toLocaleString()} messages, ${fixture})\n\n`,
  );
  printTable(
    ["process", "time", "ratio", "goal"],
    [
      ["node -e 0", seconds(node), "1.00x", ""],
      ["akri-mqtt --help", seconds(start.help!), formatRatio(help), "<= 2.50x node -e 0"],
      ["akri-mqtt serve → registered", seconds(start.serve!), formatRatio(serve), "<= 3.00x node -e 0"],
      ["bare decode process", seconds(replay.bare!), "1.00x", ""],
      [
        "discover --replay --once",
        seconds(replay.discover!),
        formatRatio(replayRatio),
        ">= 0.80x of bare (speed)",
      ],
    ],
  );
  await saveResults(
    "startup",
    {
      nodeMs: node,
      helpMs: start.help,
      helpRatio: help,
      serveRegisteredMs: start.serve,
      serveRatio: serve,
      replayMessages: REPLAY_MESSAGES,
      replayBareMs: replay.bare,
      replayDiscoverMs: replay.discover,
      replayRatio,
      goals: { help: 2.5, serve: 3, replay: 0.8 },
    },
    [
      {
        benchmark: "start-up: akri-mqtt --help",
        ours: seconds(start.help!),
        baseline: `node -e 0: ${seconds(node)}`,
        ratio: formatRatio(help),
        goal: "<= 2.50x",
      },
      {
        benchmark: "start-up: serve → registered with the agent",
        ours: seconds(start.serve!),
        baseline: `node -e 0: ${seconds(node)}`,
        ratio: formatRatio(serve),
        goal: "<= 3.00x",
      },
      {
        benchmark: `discover --replay --once, ${REPLAY_MESSAGES.toLocaleString()} msgs (process)`,
        ours: `${seconds(replay.discover!)} (${formatRate(rate(replay.discover!))})`,
        baseline: `bare process ${seconds(replay.bare!)} (${formatRate(rate(replay.bare!))})`,
        ratio: formatRatio(replayRatio),
        goal: ">= 0.80x of bare",
      },
    ],
  );
}

await main();
