/*
 * Latency: a DBIRTH published → the device present in a DiscoverResponse received by a
 * gRPC client over the handler's Unix socket, at a steady 1,000 births per second.
 * `akri-mqtt serve` runs as its own process; this process plays the Akri agent.
 * Goal: p99 <= the coalescing window (the longest a change waits under sustained load,
 * maxDelayMs = 1,000 ms) + 20 ms.
 *
 * The headline run uses the brokers' and clients' defaults: Nagle's algorithm on in
 * Mosquitto (`set_tcp_nodelay false`) and in the mqtt.js publisher. The same run with
 * TCP_NODELAY on both is measured beside it. In each run a bare mqtt.js subscriber on the
 * same broker times publisher → broker → subscriber: the part of the latency that is the
 * network path's (Nagle's algorithm and delayed ACKs stall small segments for up to
 * ~40 ms), not the handler's.
 * Run: npm run bench:latency (BENCH_LATENCY_RUNS=5 runs both configurations five times, alternating).
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, credentials } from "@grpc/grpc-js";
import mqtt from "mqtt";
import { defaultEmitterTiming } from "../src/discovery/list-emitter.js";
import { discoverRequestBytes, responseDeviceIds, TestAgent } from "../test/support/akri-agent.js";
import { Mosquitto, mosquittoBinary } from "../test/support/mosquitto.js";
import { runHelper } from "./lib/child.js";
import { formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_LATENCY_NODES", 1000, 20);
const BIRTHS_PER_SECOND = 1000;
const RUNS = sized("BENCH_LATENCY_RUNS", 1, 1);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Latencies {
  births: number;
  lists: number;
  p50: number;
  p99: number;
  max: number;
  /** Publisher → broker → a bare mqtt.js subscriber, ms: the path's share. */
  path: { p50: number; p99: number; max: number };
}

/** A bare mqtt.js subscriber (its defaults, as the handler's connection): when each DBIRTH reached it. */
async function pathProbe(url: string): Promise<{ arrived: Map<string, number>; close(): void }> {
  const client = mqtt.connect(url, {
    clientId: "bench-latency-probe",
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const arrived = new Map<string, number>();
  client.on("message", (topic) => {
    if (topic.includes("/DBIRTH/")) arrived.set(topic.replace("/DBIRTH", ""), Date.now());
  });
  await new Promise((resolve) => client.once("connect", resolve));
  await client.subscribeAsync("spBv1.0/Latency/DBIRTH/#");
  return { arrived, close: () => client.end(true) };
}

/** One run: a fresh broker, handler and publisher; `noDelay` sets TCP_NODELAY on the broker and the publisher. */
async function measure(noDelay: boolean): Promise<Latencies> {
  const broker = await Mosquitto.start(noDelay ? { extraConfig: ["set_tcp_nodelay true"] } : {});
  const probe = await pathProbe(broker.url);
  const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-bench-latency-"));
  const agent = new TestAgent(directory);
  await agent.start();
  const cli = fileURLToPath(new URL("../src/cli.js", import.meta.url));
  // BENCH_HANDLER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the handler.
  const nodeArgs = (process.env.BENCH_HANDLER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const handler = spawn(
    process.execPath,
    [...nodeArgs, cli, "serve", "--http-port", "0", "--http-host", "127.0.0.1"],
    {
      env: {
        ...process.env,
        DISCOVERY_HANDLERS_DIRECTORY: directory,
        AGENT_NODE_NAME: "bench",
        LOG_LEVEL: "warn",
      },
      stdio: "ignore",
    },
  );
  const publisher = runHelper("publisher", {
    url: broker.url,
    clientId: "bench-latency-publisher",
    noDelay,
    shape: { group: "Latency", nodes: NODES, devices: 10, metrics: 20, dataMetrics: 10 },
  });
  try {
    const registered = await agent.waitForRegistrations(1, 30_000);
    // A client that reads only what it needs, as the agent's Rust decoder is fast: device ids.
    // HTTP/2 windows as the agent's client (tonic on hyper: 2 MiB per stream) opens them.
    const client = new Client(`unix://${registered.endpoint}`, credentials.createInsecure(), {
      "grpc-node.flow_control_window": 2 * 1024 * 1024,
    });
    const request = Buffer.from(
      discoverRequestBytes(`serverUrls: [${broker.url}]\nsparkplug: {rebirth: {maxPerSecond: 0}}`),
    );
    const stream = client.makeServerStreamRequest(
      "/v0.DiscoveryHandler/Discover",
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
    );
    const seen = new Map<string, number>();
    let lists = 0;
    stream.on("data", (response: Buffer) => {
      const now = Date.now();
      lists++;
      for (const id of responseDeviceIds(response)) if (!seen.has(id)) seen.set(id, now);
    });
    stream.on("error", () => undefined);
    await publisher.waitFor("ready");
    // The handler is connected and subscribed once its first list is out.
    while (lists === 0) await new Promise((r) => setTimeout(r, 50));
    publisher.send({ do: "births", perSecond: BIRTHS_PER_SECOND * 1.1, record: true });
    const done = await publisher.waitFor("births-done", 300_000);
    const published = done.published as [string, number][];
    const deadline = Date.now() + 10_000;
    while (seen.size < published.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const latencies = published
      .map(([id, at]) => (seen.get(id) ?? Number.POSITIVE_INFINITY) - at)
      .sort((a, b) => a - b);
    const path = published
      .map(([id, at]) => (probe.arrived.get(id) ?? Number.POSITIVE_INFINITY) - at)
      .sort((a, b) => a - b);
    const result = {
      births: published.length,
      lists,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1)!,
      path: { p50: percentile(path, 50), p99: percentile(path, 99), max: path.at(-1)! },
    };
    stream.cancel();
    client.close();
    return result;
  } finally {
    publisher.kill();
    probe.close();
    handler.kill("SIGTERM");
    await agent.stop();
    await broker.stop();
  }
}

/** The runs' median of a figure, with their range when there are several. */
function spread(
  runs: Latencies[],
  figure: (l: Latencies) => number,
): { median: number; min: number; max: number } {
  const values = runs.map(figure);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function shown(s: { median: number; min: number; max: number }): string {
  return s.min === s.max
    ? s.median.toFixed(0)
    : `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
}

function figures(runs: Latencies[], goal: number) {
  const p99 = spread(runs, (l) => l.p99);
  return {
    p50Ms: spread(runs, (l) => l.p50).median,
    p99Ms: p99.median,
    maxMs: spread(runs, (l) => l.max).median,
    ratio: p99.median / goal,
    passed: runs.filter((l) => l.p99 <= goal).length,
    pathP99Ms: spread(runs, (l) => l.path.p99).median,
    runs: runs.map(({ p50, p99, max, path }) => ({ p50Ms: p50, p99Ms: p99, maxMs: max, path })),
  };
}

export async function main(): Promise<void> {
  if (!mosquittoBinary()) throw new Error("the latency benchmark needs mosquitto");
  // Alternating, so that both configurations see the same machine.
  const nagle: Latencies[] = [];
  const fast: Latencies[] = [];
  for (let run = 0; run < RUNS; run++) {
    nagle.push(await measure(false));
    fast.push(await measure(true));
  }
  const window = defaultEmitterTiming.maxDelayMs;
  const goal = window + 20;
  const runs = RUNS === 1 ? "" : `, ${RUNS} runs each: median (min–max)`;
  process.stdout.write(
    `latency: ${nagle[0]!.births.toLocaleString()} DBIRTHs at ${BIRTHS_PER_SECOND}/s → DiscoverResponse over the Unix socket (${nagle[0]!.lists} lists${runs})\n\n`,
  );
  const row = (name: string, figure: (l: Latencies) => number, goalText = "") => [
    name,
    shown(spread(nagle, figure)),
    shown(spread(fast, figure)),
    goalText,
  ];
  printTable(
    ["figure, ms", "defaults (Nagle in broker and publisher)", "TCP_NODELAY in broker and publisher", "goal"],
    [
      row("p50", (l) => l.p50),
      row("p99", (l) => l.p99, `<= ${goal} (window ${window} + 20)`),
      row("max", (l) => l.max),
      row("path p50 (publisher → broker → bare subscriber)", (l) => l.path.p50),
      row("path p99", (l) => l.path.p99),
      [
        "runs with p99 <= goal",
        `${nagle.filter((l) => l.p99 <= goal).length} of ${RUNS}`,
        `${fast.filter((l) => l.p99 <= goal).length} of ${RUNS}`,
        "all",
      ],
    ],
  );
  const headline = figures(nagle, goal);
  const compared = figures(fast, goal);
  const ms = (runs: Latencies[], figure: (l: Latencies) => number) => `${shown(spread(runs, figure))} ms`;
  await saveResults(
    "latency",
    { births: nagle[0]!.births, lists: nagle[0]!.lists, goalMs: goal, ...headline, noDelay: compared },
    [
      {
        benchmark:
          "latency DBIRTH → DiscoverResponse at 1,000 births/s, brokers' defaults (Nagle in broker and publisher)",
        ours: `p50 ${ms(nagle, (l) => l.p50)}, p99 ${ms(nagle, (l) => l.p99)}`,
        baseline: `window + 20 = ${goal} ms (path publisher → broker → bare subscriber p99 ${ms(nagle, (l) => l.path.p99)})`,
        ratio: formatRatio(headline.ratio),
        goal: "p99 <= 1x",
      },
      {
        benchmark: "same, TCP_NODELAY in broker and publisher",
        ours: `p50 ${ms(fast, (l) => l.p50)}, p99 ${ms(fast, (l) => l.p99)}`,
        baseline: `${goal} ms (path p99 ${ms(fast, (l) => l.path.p99)})`,
        ratio: formatRatio(compared.ratio),
        goal: "reported",
      },
    ],
  );
}

await main();
