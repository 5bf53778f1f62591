/*
 * Ingest through a real broker: Sparkplug DATA (1,000 edge nodes × 10 devices, 10
 * alias-only metrics per message, QoS 0) from publisher processes through Mosquitto on
 * loopback into
 *   (a) mosquitto_sub writing to /dev/null (the C client: the practical limit),
 *   (b) a bare mqtt.js subscriber that does nothing with the messages,
 *   (c) akri-mqtt's full Sparkplug pipeline (decode, seq check, host model, inventory),
 * in alternating rounds, each as fast as the publishers go. Goal: (c) >= 90% of (b); (c)/(a)
 * reported.
 *
 * CPU per DATA message: (b) and (c) side by side, subscribed at once to one paced stream
 * (BENCH_INGEST_PACE messages/s), so that both see the same arrivals under the same load of
 * this shared machine, which moves a consumer's CPU per message by a third from one minute to
 * the next. Measured on its own, each consumer's figure also depends on how fast the
 * publishers happened to go (a consumer reading larger bursts spends less per message).
 * Goal: (c) <= 1.3x (b), the median of the rounds. Both are warmed up first.
 * Run: npm run bench:ingest   (BENCH_INGEST_MESSAGES, BENCH_ROUNDS, BENCH_INGEST_PACE)
 */
import { spawn } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { Mosquitto, mosquittoBinary } from "../test/support/mosquitto.js";
import { type Child, runHelper } from "./lib/child.js";
import { formatRate, formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";

const MESSAGES = sized("BENCH_INGEST_MESSAGES", 200_000, 2_000);
const ROUNDS = sized("BENCH_ROUNDS", 5, 1);
const PUBLISHERS = 2;
const WARMUP = Math.max(PUBLISHERS, Math.round(MESSAGES / 4 / PUBLISHERS) * PUBLISHERS);
/** Messages per second of the side-by-side CPU rounds: well within what both consumers take. */
const PACE = sized("BENCH_INGEST_PACE", 40_000, 20_000);
const NODES = 1000;

function mosquittoSub(): string {
  const broker = mosquittoBinary();
  return broker ? broker.replace(/sbin\/mosquitto$/, "bin/mosquitto_sub") : "mosquitto_sub";
}

async function sendData(publishers: Child[], messages = MESSAGES, perSecond?: number): Promise<void> {
  for (const p of publishers)
    p.send({
      do: "data",
      count: messages / PUBLISHERS,
      ...(perSecond === undefined ? {} : { perSecond: perSecond / PUBLISHERS }),
    });
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

/** A consumer process, subscribed; the pipeline's has every device listed (births done). */
async function startConsumer(url: string, publishers: Child[], mode: "bare" | "pipeline"): Promise<Child> {
  // BENCH_CONSUMER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the pipeline consumer.
  const nodeArgs =
    mode === "pipeline" ? (process.env.BENCH_CONSUMER_NODE_ARGS?.split(" ").filter(Boolean) ?? []) : [];
  const consumer = runHelper("consumer", { url, mode, devices: NODES * 10 }, nodeArgs);
  if (mode === "pipeline") {
    await consumer.waitFor("online");
    for (const p of publishers) p.send({ do: "births" });
    await Promise.all(publishers.map((p) => p.waitFor("births-done")));
  }
  await consumer.waitFor("ready");
  return consumer;
}

async function stopConsumer(consumer: Child): Promise<void> {
  // Asked to exit first, so that a --cpu-prof profile is written; killed if it does not.
  consumer.send({ do: "exit" });
  const killer = setTimeout(() => consumer.kill(), 3000);
  await consumer.exited;
  clearTimeout(killer);
}

/** One consumer alone, the publishers as fast as they go: its receive rate. */
async function viaConsumer(url: string, publishers: Child[], mode: "bare" | "pipeline"): Promise<number> {
  const consumer = await startConsumer(url, publishers, mode);
  try {
    consumer.send({ do: "expect", count: MESSAGES });
    const start = performance.now();
    const sending = sendData(publishers);
    const done = consumer.waitFor("done");
    const doneFirst = await Promise.race([done.then(() => true), sending.then(() => false)]);
    if (!doneFirst) {
      const settled = await Promise.race([
        done.then(() => true),
        delay(10_000, undefined, { ref: false }).then(() => false),
      ]);
      // The broker drops QoS 0 messages for a consumer that falls behind: count what came.
      if (!settled) consumer.send({ do: "stop" });
    }
    const got = await done;
    const elapsed = performance.now() - start;
    await sending;
    if (Number(got.received) === MESSAGES) return MESSAGES / (elapsed / 1000);
    process.stdout.write(`(the ${mode} consumer alone got ${got.received} of ${MESSAGES} messages)\n`);
    return Number(got.received) / (Number(got.ms) / 1000);
  } finally {
    await stopConsumer(consumer);
  }
}

/** Both consumers at once on one paced stream, warmed up: CPU µs per DATA message of each. */
async function sideBySide(url: string, publishers: Child[]): Promise<{ bare: number; pipeline: number }> {
  const consumers: Child[] = [];
  try {
    consumers.push(await startConsumer(url, publishers, "pipeline"));
    consumers.push(await startConsumer(url, publishers, "bare"));
    let done: Record<string, unknown>[] = [];
    // Warmed up first: what is measured is the steady state, not the JIT compiling the path.
    for (const count of [WARMUP, MESSAGES]) {
      for (const c of consumers) c.send({ do: "expect", count });
      await sendData(publishers, count, PACE);
      done = await Promise.all(
        consumers.map(async (c) => {
          try {
            return await c.waitFor("done", 10_000);
          } catch {
            // The broker drops QoS 0 messages for a consumer that falls behind: count what came.
            c.send({ do: "stop" });
            return c.waitFor("done");
          }
        }),
      );
    }
    const [pipeline, bare] = done.map((d) => Number(d.cpuUs) / Number(d.received)) as [number, number];
    const short = done.filter((d) => Number(d.received) < MESSAGES).map((d) => Number(d.received));
    if (short.length > 0)
      process.stdout.write(`(a consumer got ${short.join(", ")} of ${MESSAGES} messages)\n`);
    return { bare, pipeline };
  } finally {
    await Promise.all(consumers.map(stopConsumer));
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
    const cpuRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(await viaMosquittoSub(broker.url, publishers));
      b.push(await viaConsumer(broker.url, publishers, "bare"));
      c.push(await viaConsumer(broker.url, publishers, "pipeline"));
      const cpu = await sideBySide(broker.url, publishers);
      bCpu.push(cpu.bare);
      cCpu.push(cpu.pipeline);
      cpuRatios.push(cpu.pipeline / cpu.bare);
      process.stdout.write(
        `round ${round + 1}: ${formatRate(b.at(-1)!)} bare, ${formatRate(c.at(-1)!)} pipeline; CPU per message side by side at ${formatRate(PACE)}: bare ${cpu.bare.toFixed(2)} µs, pipeline ${cpu.pipeline.toFixed(2)} µs (${cpuRatios.at(-1)!.toFixed(2)}x)\n`,
      );
    }
    const [ra, rb, rc] = [median(a), median(b), median(c)];
    process.stdout.write(
      `ingest: ${MESSAGES.toLocaleString()} DDATA messages per run through Mosquitto, ${ROUNDS} rounds\n\n`,
    );
    printTable(
      ["consumer", "messages/s", "vs (b)", "goal"],
      [
        ["(a) mosquitto_sub > /dev/null", formatRate(ra), `${(ra / rb).toFixed(2)}x`, ""],
        ["(b) bare mqtt.js subscriber", formatRate(rb), "1.00x", ""],
        ["(c) akri-mqtt full pipeline", formatRate(rc), `${(rc / rb).toFixed(2)}x`, ">= 0.90x of (b)"],
        ["(c) / (a)", "", `${(rc / ra).toFixed(2)}x`, ""],
      ],
    );
    const sorted = [...cpuRatios].sort((x, y) => x - y);
    process.stdout.write(
      `\nCPU per DATA message, side by side at ${formatRate(PACE)}: bare ${median(bCpu).toFixed(2)} µs, pipeline ${median(cCpu).toFixed(2)} µs; (c)/(b) by round ${sorted.map((r) => r.toFixed(2)).join(" ")}, median ${median(cpuRatios).toFixed(2)}x (goal <= 1.3x)\n`,
    );
    const [bareCpu, pipelineCpu] = [median(bCpu), median(cCpu)];
    await saveResults(
      "ingest",
      {
        messages: MESSAGES,
        mosquittoSubPerSecond: ra,
        bareMqttJsPerSecond: rb,
        pipelinePerSecond: rc,
        ratioToBare: rc / rb,
        ratioToMosquittoSub: rc / ra,
        bareCpuUsPerMessage: bareCpu,
        pipelineCpuUsPerMessage: pipelineCpu,
        cpuRatio: median(cpuRatios),
        cpuRatios,
        cpuPacePerSecond: PACE,
        goal: 0.9,
      },
      [
        {
          benchmark: "ingest via Mosquitto, full pipeline",
          ours: formatRate(rc),
          baseline: `bare mqtt.js ${formatRate(rb)}`,
          ratio: formatRatio(rc / rb),
          goal: ">= 0.90x",
        },
        {
          benchmark: "  same, vs the C client",
          ours: formatRate(rc),
          baseline: `mosquitto_sub ${formatRate(ra)}`,
          ratio: formatRatio(rc / ra),
          goal: "(reported)",
        },
        {
          benchmark: "  CPU per DATA message",
          ours: `${pipelineCpu.toFixed(2)} µs`,
          baseline: `bare mqtt.js ${bareCpu.toFixed(2)} µs`,
          ratio: formatRatio(median(cpuRatios)),
          goal: "<= 1.3x",
        },
      ],
    );
  } finally {
    for (const p of publishers) p.kill();
    await broker.stop();
  }
}

await main();
