/*
 * Latency: a DBIRTH published → the device present in a DiscoverResponse received by a
 * gRPC client over the handler's Unix socket, at a steady 1,000 births per second.
 * `akri-mqtt serve` runs as its own process; this process plays the Akri agent.
 * Goal: p99 <= the coalescing window (the longest a change waits under sustained load,
 * maxDelayMs = 1,000 ms) + 20 ms.
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
import { printTable, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_LATENCY_NODES", 1000, 20);
const BIRTHS_PER_SECOND = 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function main(): Promise<void> {
  if (!mosquittoBinary()) throw new Error("the latency benchmark needs mosquitto");
  const broker = await Mosquitto.start();
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
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const window = defaultEmitterTiming.maxDelayMs;
    const goal = window + 20;
    process.stdout.write(
      `latency: ${published.length.toLocaleString()} DBIRTHs at ${BIRTHS_PER_SECOND}/s → DiscoverResponse over the Unix socket (${lists} lists)\n\n`,
    );
    printTable(
      ["figure", "ms", "goal"],
      [
        ["p50", p50.toFixed(0), ""],
        ["p99", p99.toFixed(0), `<= ${goal} (window ${window} + 20)`],
        ["max", latencies.at(-1)!.toFixed(0), ""],
        ["p99 / goal", `${(p99 / goal).toFixed(2)}x`, "<= 1x"],
      ],
    );
    await saveResults("latency", {
      births: published.length,
      lists,
      p50Ms: p50,
      p99Ms: p99,
      maxMs: latencies.at(-1),
      goalMs: goal,
      ratio: p99 / goal,
    });
    stream.cancel();
    client.close();
  } finally {
    publisher.kill();
    handler.kill("SIGTERM");
    await agent.stop();
    await broker.stop();
  }
}

await main();
