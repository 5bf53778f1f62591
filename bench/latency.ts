/*
 * Latency: a DBIRTH published → the device present in a DiscoverResponse received by a
 * gRPC client over the handler's Unix socket, at a steady 1,000 births per second.
 * `akri-mqtt serve` runs as its own process; this process plays the Akri agent.
 * Goal: p99 <= the coalescing window (the longest a change waits under sustained load,
 * maxDelayMs = 1,000 ms) + 20 ms.
 *
 * The broker and the publisher run with TCP_NODELAY (Mosquitto's `set_tcp_nodelay true`):
 * with Nagle's algorithm on their sockets (both defaults) a birth can sit 20-40 ms in the
 * broker's or the publisher's socket, waiting for the ACK of the previous segment, before
 * the handler can see it; that is the broker's configuration, not the handler's latency.
 * The same run with both defaults is measured and reported beside it.
 * Run: npm run bench:latency
 */
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, credentials } from "@grpc/grpc-js";
import { defaultEmitterTiming } from "../src/discovery/list-emitter.js";
import { discoverRequestBytes, responseDeviceIds, TestAgent } from "../test/support/akri-agent.js";
import { Mosquitto, mosquittoBinary } from "../test/support/mosquitto.js";
import { runHelper } from "./lib/child.js";
import { formatRatio, printTable, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_LATENCY_NODES", 1000, 20);
const BIRTHS_PER_SECOND = 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Latencies {
  births: number;
  lists: number;
  p50: number;
  p99: number;
  max: number;
}

/** One run: a fresh broker, handler and publisher; `noDelay` sets TCP_NODELAY on the broker and the publisher. */
async function measure(noDelay: boolean): Promise<Latencies> {
  const broker = await Mosquitto.start(noDelay ? { extraConfig: ["set_tcp_nodelay true"] } : {});
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
    const result = {
      births: published.length,
      lists,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1)!,
    };
    stream.cancel();
    client.close();
    return result;
  } finally {
    publisher.kill();
    handler.kill("SIGTERM");
    await agent.stop();
    await broker.stop();
  }
}

export async function main(): Promise<void> {
  if (!mosquittoBinary()) throw new Error("the latency benchmark needs mosquitto");
  const fast = await measure(true);
  const nagle = await measure(false);
  const window = defaultEmitterTiming.maxDelayMs;
  const goal = window + 20;
  process.stdout.write(
    `latency: ${fast.births.toLocaleString()} DBIRTHs at ${BIRTHS_PER_SECOND}/s → DiscoverResponse over the Unix socket (${fast.lists} lists)\n\n`,
  );
  printTable(
    ["figure", "ms", "with Nagle in broker and publisher", "goal"],
    [
      ["p50", fast.p50.toFixed(0), nagle.p50.toFixed(0), ""],
      ["p99", fast.p99.toFixed(0), nagle.p99.toFixed(0), `<= ${goal} (window ${window} + 20)`],
      ["max", fast.max.toFixed(0), nagle.max.toFixed(0), ""],
      ["p99 / goal", `${(fast.p99 / goal).toFixed(2)}x`, `${(nagle.p99 / goal).toFixed(2)}x`, "<= 1x"],
    ],
  );
  await saveResults(
    "latency",
    {
      births: fast.births,
      lists: fast.lists,
      p50Ms: fast.p50,
      p99Ms: fast.p99,
      maxMs: fast.max,
      goalMs: goal,
      ratio: fast.p99 / goal,
      withNagle: { p50Ms: nagle.p50, p99Ms: nagle.p99, maxMs: nagle.max, ratio: nagle.p99 / goal },
    },
    [
      {
        benchmark: "latency DBIRTH → DiscoverResponse",
        ours: `p50 ${fast.p50} ms, p99 ${fast.p99} ms`,
        baseline: `window + 20 = ${goal} ms (with Nagle in broker and publisher: p99 ${nagle.p99} ms)`,
        ratio: formatRatio(fast.p99 / goal),
        goal: "p99 <= 1x",
      },
    ],
  );
}

await main();
