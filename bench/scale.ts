/*
 * Scale: a plant grown to 1,000, 10,000 and 100,000 devices (10 devices per edge node,
 * 20 birth metrics each; the last 90,000 born within one minute), through Mosquitto into
 * akri-mqtt's discovery pipeline in its own process. At each size: time from the last
 * birth to the device list with every device, CPU time per DATA message under steady
 * traffic, and resident and heap memory per device after GC once every device has sent DATA
 * (what the host keeps for DATA counts; heap after the births alone is saved beside it).
 * Goals: settled within 2 s of the last birth; <= 2 KiB per device; CPU per message flat.
 * Two more, in this process, through the discovery engine, CPU per message at three sizes,
 * flat as well: generic (plain MQTT) discovery with 1,000 to 100,000 topic devices, and a
 * cold start: joining a running plant of 100 to 10,000 edge nodes whose births were missed,
 * while their DATA keeps flowing and the rebirth requests go out ten per second.
 * Run: npm run bench:scale
 */

import type { DiscoveryEngine, EngineOutput } from "../src/discovery/engine.js";
import { engineFor, parseDiscoveryDetails } from "../src/discovery/modes/modes.js";
import { Mosquitto, mosquittoBinary } from "../test/support/mosquitto.js";
import { runHelper } from "./lib/child.js";
import { FleetTraffic } from "./lib/fleet-traffic.js";
import { printTable, saveResults, sized } from "./lib/measure.js";

const PUBLISHERS = 2;
const TOTAL_NODES = sized("BENCH_SCALE_NODES", 10_000, 200);
const LEVELS = [TOTAL_NODES / 100, TOTAL_NODES / 10, TOTAL_NODES];
/** The largest step is born over this long. */
const PACE_SECONDS = sized("BENCH_SCALE_PACE_S", 55, 1);
const DATA_MESSAGES = sized("BENCH_SCALE_DATA", 100_000, 2_000);
const GENERIC_DEVICES = sized("BENCH_SCALE_GENERIC", 100_000, 2_000);
const COLD_NODES = sized("BENCH_SCALE_COLD_NODES", 10_000, 200);
const BROKER_NODES = sized("BENCH_SCALE_BROKER_NODES", 1_000, 50);

/**
 * The discovery engine fed in this process on its own clock: each message, then the
 * next-deadline query the pipeline makes after every input.
 */
class InProcessEngine {
  readonly engine: DiscoveryEngine;
  now = 0;

  constructor(detailsYaml: string, brokers: readonly string[] = ["b"]) {
    const parsed = parseDiscoveryDetails(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.engine = engineFor(parsed.details, { suffix: "bench" });
    this.engine.start(this.now);
    for (const broker of brokers)
      this.engine.step({ kind: "online", broker, willTimestamp: this.now }, this.now);
  }

  message(topic: string, payload: Uint8Array, broker = "b"): EngineOutput {
    const message = { topic, payload, qos: 0 as const, retain: false, at: this.now, broker };
    const out = this.engine.step({ kind: "message", message }, this.now);
    this.engine.nextDeadline();
    return out;
  }
}

/** CPU µs per message of `run`, which handles `messages` messages. */
function cpuPerMessage(messages: number, run: () => void): number {
  const cpu = process.cpuUsage();
  run();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / messages;
}

/** CPU per DATA message from `nodes` edge nodes the handler never saw born (it joined late). */
function coldStartCpuPerMessage(nodes: number): number {
  const fleet = new FleetTraffic({ nodes, devices: 10, metrics: 20, dataMetrics: 10 });
  const h = new InProcessEngine("serverUrls: [tcp://plant:1883]\nsparkplug: {publishState: false}");
  for (let n = 0; n < nodes; n++) fleet.births(n, h.now); // published before we joined
  let rebirths = 0;
  let sent = 0;
  const step = (m: { topic: string; payload: Buffer }) => {
    rebirths += h.message(m.topic, m.payload).commands.length;
    if (++sent % 50 === 0) h.now++;
  };
  // One message from every device first (not timed): the handler has met the whole plant.
  for (let k = 0; k < nodes * 10; k++) step(fleet.data(k));
  const messages = 50_000;
  const traffic = Array.from({ length: messages }, (_, k) => fleet.data(nodes * 10 + k));
  const cpu = cpuPerMessage(messages, () => {
    for (const m of traffic) step(m);
  });
  if (rebirths === 0 || rebirths > (h.now / 1000 + 1) * 10)
    throw new Error(`cold start: ${rebirths} rebirth requests`);
  return cpu;
}

/**
 * CPU per DATA message of a plant of `nodes` edge nodes spread over `brokers` independent
 * brokers (each node born on its own, its DATA from there): several brokers must cost what
 * one does, per message.
 */
function brokersCpuPerMessage(nodes: number, brokers: 1 | 2): number {
  const uris = brokers === 1 ? ["tcp://a:1883"] : ["tcp://a:1883", "tcp://b:1883"];
  const details =
    brokers === 1
      ? "serverUrls: [tcp://a:1883]\nsparkplug: {publishState: false}"
      : "brokers: [{serverUrls: [tcp://a:1883]}, {serverUrls: [tcp://b:1883]}]\nsparkplug: {publishState: false}";
  const fleet = new FleetTraffic({ nodes, devices: 10, metrics: 20, dataMetrics: 10 });
  const h = new InProcessEngine(details, uris);
  const brokerOf = (node: number) => uris[node % uris.length]!;
  for (let n = 0; n < nodes; n++)
    for (const m of fleet.births(n, h.now)) h.message(m.topic, m.payload, brokerOf(n));
  const messages = 100_000;
  // fleet.data(k) is node k % nodes: each message comes from its node's broker.
  const traffic = Array.from({ length: messages }, (_, k) => ({
    ...fleet.data(k),
    broker: brokerOf(k % nodes),
  }));
  let sent = 0;
  const cpu = cpuPerMessage(messages, () => {
    for (const m of traffic) {
      h.message(m.topic, m.payload, m.broker);
      if (++sent % 100 === 0) h.now++;
    }
  });
  if (h.engine.discoverer.list().length !== nodes * 10) throw new Error("brokers: devices were lost");
  return cpu;
}

/** CPU per message of generic discovery (idle timeouts, grace) with `devices` topics, all publishing. */
function genericCpuPerMessage(devices: number): number {
  const h = new InProcessEngine(
    "mode: generic\nserverUrls: [tcp://plant:1883]\ntopics: [sensors/#]\nidleTimeoutSeconds: 60\nofflineGraceSeconds: 30",
  );
  const payload = Buffer.from('{"v":1}');
  for (let i = 0; i < devices; i++) h.message(`sensors/s${i}/v`, payload);
  const messages = Math.max(devices, 100_000);
  const cpu = cpuPerMessage(messages, () => {
    for (let i = 0; i < messages; i++) {
      h.message(`sensors/s${i % devices}/v`, payload);
      if (i % 100 === 0) h.now++;
    }
  });
  if (h.engine.discoverer.list().length !== devices) throw new Error("generic scale: devices were lost");
  return cpu;
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

export async function main(): Promise<void> {
  if (!mosquittoBinary()) throw new Error("the scale benchmark needs mosquitto");
  const broker = await Mosquitto.start({ extraConfig: ["max_queued_messages 0"] });
  const share = TOTAL_NODES / PUBLISHERS;
  const publishers = Array.from({ length: PUBLISHERS }, (_, i) =>
    runHelper("publisher", {
      url: broker.url,
      clientId: `bench-scale-publisher-${i}`,
      shape: {
        group: `Plant${i}`,
        nodes: share,
        devices: 10,
        metrics: 20,
        dataMetrics: 10,
        firstNode: i * share,
      },
    }),
  );
  const consumer = runHelper("scale-consumer", { url: broker.url }, [
    "--expose-gc",
    "--max-old-space-size=4096",
  ]);
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    await Promise.all(publishers.map((p) => p.waitFor("ready", 300_000)));
    const base = (await consumer.waitFor("online")).memory as Memory;
    let born = 0;
    for (const [i, nodes] of LEVELS.entries()) {
      const devices = nodes * 10;
      const perPublisher = nodes / PUBLISHERS;
      consumer.send({ do: "await-devices", count: devices });
      // The largest step is paced to take about a minute, as a plant's cold start would.
      const births = (perPublisher - born / PUBLISHERS) * 11;
      const paced = i === LEVELS.length - 1 ? { perSecond: Math.ceil(births / PACE_SECONDS) } : {};
      for (const p of publishers)
        p.send({ do: "births", from: born / PUBLISHERS, to: perPublisher, ...paced });
      const done = await Promise.all(publishers.map((p) => p.waitFor("births-done", 300_000)));
      const lastBirth = Math.max(...done.map((d) => Number(d.lastBirthAt)));
      const listed = await consumer.waitFor("listed", 300_000);
      const settleMs = Number(listed.at) - lastBirth;
      born = nodes;
      consumer.send({ do: "memory" });
      const afterBirths = (await consumer.waitFor("memory", 120_000)).memory as Memory;
      consumer.send({ do: "expect-data", count: DATA_MESSAGES });
      for (const p of publishers)
        p.send({ do: "data", count: DATA_MESSAGES / PUBLISHERS, nodes: perPublisher });
      await Promise.all(publishers.map((p) => p.waitFor("data-done", 300_000)));
      const data = await consumer.waitFor("data-done", 300_000);
      // Memory once every device has sent DATA too (what it keeps for DATA is part of its cost).
      consumer.send({ do: "memory" });
      const memory = (await consumer.waitFor("memory", 120_000)).memory as Memory;
      const heapAfterBirths =
        (afterBirths.heapUsed + afterBirths.external - base.heapUsed - base.external) / devices;
      const rssPerDevice = (memory.rss - base.rss) / devices;
      const heapPerDevice = (memory.heapUsed + memory.external - base.heapUsed - base.external) / devices;
      const cpuPerMessage = Number(data.cpuUs) / DATA_MESSAGES;
      rows.push([
        devices.toLocaleString(),
        `${settleMs} ms`,
        `${(rssPerDevice / 1024).toFixed(2)} KiB`,
        `${(heapPerDevice / 1024).toFixed(2)} KiB`,
        `${cpuPerMessage.toFixed(2)} µs`,
      ]);
      results.push({
        devices,
        settleMs,
        rssBytesPerDevice: rssPerDevice,
        heapBytesPerDevice: heapPerDevice,
        heapBytesPerDeviceAfterBirths: heapAfterBirths,
        cpuUsPerDataMessage: cpuPerMessage,
      });
    }
    process.stdout.write(
      `scale: ${TOTAL_NODES.toLocaleString()} edge nodes × 10 devices × 20 birth metrics, through Mosquitto\n\n`,
    );
    printTable(
      ["devices", "list settled after last birth", "RSS / device", "heap / device", "CPU / DATA msg"],
      rows,
    );
    const cpu = results.map((r) => Number(r.cpuUsPerDataMessage));
    process.stdout.write(
      `\ngoals: settled <= 2000 ms; <= 2 KiB per device; CPU per message flat (largest / smallest = ${(cpu.at(-1)! / cpu[0]!).toFixed(2)}x)\n`,
    );
    const generic = [GENERIC_DEVICES / 100, GENERIC_DEVICES / 10, GENERIC_DEVICES].map((devices) => ({
      devices,
      cpuUsPerMessage: genericCpuPerMessage(devices),
    }));
    const genericGrowth = generic.at(-1)!.cpuUsPerMessage / generic[0]!.cpuUsPerMessage;
    process.stdout.write("\ngeneric discovery (in process): CPU per message by fleet size\n\n");
    printTable(
      ["topic devices", "CPU / message"],
      generic.map((g) => [g.devices.toLocaleString(), `${g.cpuUsPerMessage.toFixed(2)} µs`]),
    );
    process.stdout.write(`\ngoal: flat (largest / smallest = ${genericGrowth.toFixed(2)}x)\n`);
    // Warmed up first: the smallest plant measured cold would be mostly the JIT at work.
    coldStartCpuPerMessage(COLD_NODES / 100);
    const cold = [COLD_NODES / 100, COLD_NODES / 10, COLD_NODES].map((nodes) => ({
      nodes,
      cpuUsPerMessage: coldStartCpuPerMessage(nodes),
    }));
    const coldGrowth = cold.at(-1)!.cpuUsPerMessage / cold[0]!.cpuUsPerMessage;
    process.stdout.write(
      "\ncold start (in process): CPU per DATA message while unknown nodes wait for rebirth\n\n",
    );
    printTable(
      ["unknown edge nodes", "CPU / message"],
      cold.map((c) => [c.nodes.toLocaleString(), `${c.cpuUsPerMessage.toFixed(2)} µs`]),
    );
    process.stdout.write(`\ngoal: flat (largest / smallest = ${coldGrowth.toFixed(2)}x)\n`);
    // Warm both up, then three rounds of one broker and two in turn; medians (a DATA message
    // is a few µs here, so one run of each is at the mercy of the garbage collector).
    brokersCpuPerMessage(BROKER_NODES, 2);
    brokersCpuPerMessage(BROKER_NODES, 1);
    const ones: number[] = [];
    const twos: number[] = [];
    for (let round = 0; round < 3; round++) {
      ones.push(brokersCpuPerMessage(BROKER_NODES, 1));
      twos.push(brokersCpuPerMessage(BROKER_NODES, 2));
    }
    const middle = (v: number[]) => [...v].sort((a, b) => a - b)[1]!;
    const oneBroker = middle(ones);
    const twoBrokers = middle(twos);
    process.stdout.write(
      `\nseveral brokers (in process): CPU per DATA message, ${BROKER_NODES.toLocaleString()} nodes on one broker ${oneBroker.toFixed(2)} µs, spread over two ${twoBrokers.toFixed(2)} µs (${(twoBrokers / oneBroker).toFixed(2)}x; goal ~1x)\n`,
    );
    await saveResults("scale", {
      brokers: {
        nodes: BROKER_NODES,
        oneBrokerCpuUs: oneBroker,
        twoBrokersCpuUs: twoBrokers,
        ratio: twoBrokers / oneBroker,
      },
      levels: results,
      cpuGrowth: cpu.at(-1)! / cpu[0]!,
      generic: { levels: generic, cpuGrowth: genericGrowth },
      coldStart: { levels: cold, cpuGrowth: coldGrowth },
      goals: { settleMs: 2000, bytesPerDevice: 2048 },
    });
  } finally {
    consumer.send({ do: "exit" });
    for (const p of publishers) p.kill();
    await broker.stop();
  }
}

await main();
