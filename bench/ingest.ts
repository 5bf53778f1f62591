/*
 * Ingest through a real broker: Sparkplug DATA (1,000 edge nodes × 10 devices, 10
 * alias-only metrics per message, QoS 0) from publisher processes through Mosquitto on
 * loopback into
 *   (a) mosquitto_sub writing to /dev/null (the C client: the practical limit),
 *   (b) a bare mqtt.js subscriber that does nothing with the messages,
 *   (c) akri-mqtt's full Sparkplug pipeline (decode, seq check, host model, inventory),
 * in alternating rounds. Goal: (c) >= 90% of (b); (c)/(a) reported.
 * Run: npm run bench:ingest   (BENCH_INGEST_MESSAGES, BENCH_ROUNDS)
 */
import { spawn } from "node:child_process";
import { Mosquitto, mosquittoBinary } from "../test/support/mosquitto.js";
import { type Child, runHelper } from "./lib/child.js";
import { formatRate, printTable, saveResults, sized } from "./lib/measure.js";

const MESSAGES = sized("BENCH_INGEST_MESSAGES", 200_000, 2_000);
const ROUNDS = sized("BENCH_ROUNDS", 3, 1);
const PUBLISHERS = 2;
const NODES = 1000;

function mosquittoSub(): string {
  const broker = mosquittoBinary();
  return broker ? broker.replace(/sbin\/mosquitto$/, "bin/mosquitto_sub") : "mosquitto_sub";
}

async function sendData(publishers: Child[]): Promise<void> {
  for (const p of publishers) p.send({ do: "data", count: MESSAGES / PUBLISHERS });
  await Promise.all(publishers.map((p) => p.waitFor("data-done")));
}

async function viaMosquittoSub(url: string, publishers: Child[]): Promise<number> {
  const port = new URL(url).port;
  const sub = spawn(
    mosquittoSub(),
    ["-h", "127.0.0.1", "-p", port, "-t", "spBv1.0/+/DDATA/#", "-C", String(MESSAGES), "-q", "0"],
    {
      stdio: ["ignore", "ignore", "ignore"],
    },
  );
  const exited = new Promise<void>((resolve) => sub.on("exit", () => resolve()));
  await new Promise((r) => setTimeout(r, 500));
  const start = performance.now();
  const sending = sendData(publishers);
  await exited;
  const rate = MESSAGES / ((performance.now() - start) / 1000);
  await sending;
  return rate;
}

async function viaConsumer(
  url: string,
  publishers: Child[],
  mode: "bare" | "pipeline",
): Promise<{ rate: number; cpuUsPerMessage: number }> {
  // BENCH_CONSUMER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the pipeline consumer.
  const nodeArgs =
    mode === "pipeline" ? (process.env.BENCH_CONSUMER_NODE_ARGS?.split(" ").filter(Boolean) ?? []) : [];
  const consumer = runHelper("consumer", { url, mode, devices: NODES * 10 }, nodeArgs);
  try {
    if (mode === "pipeline") {
      await consumer.waitFor("online");
      for (const p of publishers) p.send({ do: "births" });
      await Promise.all(publishers.map((p) => p.waitFor("births-done")));
    }
    await consumer.waitFor("ready");
    consumer.send({ do: "expect", count: MESSAGES });
    const start = performance.now();
    const sending = sendData(publishers);
    const done = await consumer.waitFor("done");
    const rate = MESSAGES / ((performance.now() - start) / 1000);
    await sending;
    return { rate, cpuUsPerMessage: Number(done.cpuUs) / MESSAGES };
  } finally {
    // Asked to exit first, so that a --cpu-prof profile is written; killed if it does not.
    consumer.send({ do: "exit" });
    const killer = setTimeout(() => consumer.kill(), 3000);
    await consumer.exited;
    clearTimeout(killer);
  }
}

export async function main(): Promise<void> {
  if (!mosquittoBinary())
    throw new Error("the ingest benchmark needs mosquitto (apt-get install -y mosquitto mosquitto-clients)");
  const broker = await Mosquitto.start({ extraConfig: ["max_queued_messages 0"] });
  const publishers = Array.from({ length: PUBLISHERS }, (_, i) =>
    runHelper("publisher", {
      url: broker.url,
      clientId: `bench-publisher-${i}`,
      shape: {
        nodes: NODES / PUBLISHERS,
        devices: 10,
        metrics: 20,
        dataMetrics: 10,
        firstNode: (i * NODES) / PUBLISHERS,
      },
    }),
  );
  try {
    await Promise.all(publishers.map((p) => p.waitFor("ready")));
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    const bCpu: number[] = [];
    const cCpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(await viaMosquittoSub(broker.url, publishers));
      const bare = await viaConsumer(broker.url, publishers, "bare");
      b.push(bare.rate);
      bCpu.push(bare.cpuUsPerMessage);
      const full = await viaConsumer(broker.url, publishers, "pipeline");
      c.push(full.rate);
      cCpu.push(full.cpuUsPerMessage);
    }
    const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
    const [ra, rb, rc] = [median(a), median(b), median(c)];
    process.stdout.write(
      `ingest: ${MESSAGES.toLocaleString()} DDATA messages per run through Mosquitto, ${ROUNDS} rounds\n\n`,
    );
    printTable(
      ["consumer", "messages/s", "vs (b)", "CPU µs/msg", "goal"],
      [
        ["(a) mosquitto_sub > /dev/null", formatRate(ra), `${(ra / rb).toFixed(2)}x`, "", ""],
        ["(b) bare mqtt.js subscriber", formatRate(rb), "1.00x", median(bCpu).toFixed(2), ""],
        [
          "(c) akri-mqtt full pipeline",
          formatRate(rc),
          `${(rc / rb).toFixed(2)}x`,
          median(cCpu).toFixed(2),
          ">= 0.90x of (b)",
        ],
        ["(c) / (a)", "", `${(rc / ra).toFixed(2)}x`, "", ""],
      ],
    );
    await saveResults("ingest", {
      messages: MESSAGES,
      mosquittoSubPerSecond: ra,
      bareMqttJsPerSecond: rb,
      pipelinePerSecond: rc,
      ratioToBare: rc / rb,
      ratioToMosquittoSub: rc / ra,
      bareCpuUsPerMessage: median(bCpu),
      pipelineCpuUsPerMessage: median(cCpu),
      goal: 0.9,
    });
  } finally {
    for (const p of publishers) p.kill();
    await broker.stop();
  }
}

await main();
