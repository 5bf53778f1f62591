/*
 * Soak: a Sparkplug plant that is born, then churns for a long time (device deaths and
 * rebirths, abrupt node deaths through the Will, clean node deaths, node rebirths, stale
 * NDEATHs of earlier sessions, and the handler's broker connection cut and restored),
 * through Mosquitto into `akri-mqtt serve`, with a test Akri agent reading the lists.
 * Every 5 s the handler's /metrics give its heap, RSS and open handles; after a warm-up
 * their growth is fitted to a line. At the end the churn stops and the last list must be
 * exactly the plant's true state.
 * Run: npm run soak   (SOAK_MINUTES, default 30; SOAK_NODES, default 40)
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { EdgeNodeEncoder } from "../src/sparkplug/edge-node-encoder.js";
import { seededRandom } from "../src/streams/seeded-random.js";
import { TestAgent } from "../test/support/akri-agent.js";
import { HandlerProcess } from "../test/support/handler-process.js";
import { eventually } from "../test/support/live-host.js";
import { Mosquitto } from "../test/support/mosquitto.js";
import { ResilientEdge } from "../test/support/resilient-edge.js";
import { TcpProxy } from "../test/support/tcp-proxy.js";
import { printTable, saveResults } from "./lib/measure.js";

export interface SoakOptions {
  durationMs: number;
  nodes: number;
  devicesPerNode: number;
  /** Part of the run before memory is judged (caches fill, JIT settles). */
  warmupFraction: number;
  sampleEveryMs: number;
  seed: number;
  log?: (line: string) => void;
}

export interface Sample {
  at: number;
  rss: number;
  heap: number;
  handles: number;
}

export interface SoakResult {
  durationMs: number;
  samples: Sample[];
  /** Least-squares slopes after the warm-up. */
  heapSlopeKiBPerMin: number;
  rssSlopeKiBPerMin: number;
  /** The same over the second half of the run only (RSS climbs to a plateau first). */
  heapSlopeSecondHalfKiBPerMin: number;
  rssSlopeSecondHalfKiBPerMin: number;
  /** Growth between the lowest heap of the first and of the last quarter after the warm-up (sampled: GC timing moves it by megabytes). */
  heapFloorGrowthBytes: number;
  /**
   * Growth of what survives a full garbage collection, from the end of the warm-up to the end
   * of the run: the handler's heap snapshots (taken at a signal), which collect first.
   */
  retainedGrowthBytes: number;
  handlesAfterWarmup: number;
  handlesAtEnd: number;
  handlesMaxAfterWarmup: number;
  churn: Record<string, number>;
  lists: number;
  emptyListsAfterBirth: number;
  listsWithDuplicates: number;
  messagesReceived: number;
  finalDevices: number;
  expectedDevices: number;
  finalMatches: boolean;
  handlerAlive: boolean;
}

/** The total size of a V8 heap snapshot's objects (what survived the collection it began with); undefined while incomplete. */
function heapSnapshotBytes(json: string): number | undefined {
  let snapshot: { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  try {
    snapshot = JSON.parse(json);
  } catch {
    return undefined; // still being written
  }
  const fields = snapshot.snapshot.meta.node_fields;
  const sizeAt = fields.indexOf("self_size");
  let total = 0;
  for (let i = sizeAt; i < snapshot.nodes.length; i += fields.length) total += snapshot.nodes[i]!;
  return total;
}

function slopePerMinute(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const say = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const broker = await Mosquitto.start();
  const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-soak-"));
  const agent = new TestAgent(directory);
  let proxy: TcpProxy | undefined;
  let handler: HandlerProcess | undefined;
  const edges: ResilientEdge[] = [];
  const timers: NodeJS.Timeout[] = [];
  const churn: Record<string, number> = {};
  const count = (kind: string) => {
    churn[kind] = (churn[kind] ?? 0) + 1;
  };
  try {
    const partition = await TcpProxy.start(broker.port);
    proxy = partition;
    await agent.start();
    const snapshots = await mkdtemp(join(tmpdir(), "akri-mqtt-soak-heap-"));
    const serve = await HandlerProcess.start(directory, {
      AGENT_NODE_NAME: "soak",
      LOG_LEVEL: "info",
      NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}`,
    });
    handler = serve;
    const registered = await agent.waitForRegistrations(1, 30_000);
    const call = agent.discover(
      registered,
      `serverUrls: [${partition.url}]\nsparkplug: {groupIds: {action: Include, items: [Soak]}}`,
    );
    await eventually(() => call.lists.length > 0, "the first list", 30_000);
    for (let n = 0; n < options.nodes; n++) {
      edges.push(
        new ResilientEdge({
          urls: [broker.url],
          group: "Soak",
          edge: `Node${String(n).padStart(3, "0")}`,
          devices: Array.from({ length: options.devicesPerNode }, (_, d) => `Device${d}`),
          dataEveryMs: 200,
        }),
      );
    }
    await Promise.all(edges.map((e) => e.start()));
    const truth = () => edges.filter((e) => e.up).flatMap((e) => e.ids);
    const same = (a: string[], b: string[]) =>
      JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    await eventually(() => same(call.ids(), truth()), "the plant born", 60_000);
    const bornAt = call.lists.length;
    say(`born: ${truth().length} devices on ${edges.length} edge nodes`);

    // Churn: one random fault a second; a partition of the handler every 40 s (shorter runs: three).
    const staleClient = await mqtt.connectAsync(broker.url, { clientId: "soak-stale-deaths" });
    const busy = new Set<ResilientEdge>();
    const later = (ms: number, fn: () => void | Promise<void>) => {
      timers.push(setTimeout(() => void fn(), ms));
    };
    const actions: [string, () => Promise<void> | void][] = [
      [
        "device death and rebirth",
        () => {
          const edge = pick(edges.filter((e) => e.up && !busy.has(e)));
          const device = edge && pick(edge.aliveDevices);
          if (!edge || !device) return;
          edge.killDevice(device);
          later(2000 + random() * 3000, () => edge.reviveDevice(device));
        },
      ],
      [
        "node killed (Will), back later",
        async () => {
          const edge = pick(edges.filter((e) => e.up && !busy.has(e)));
          if (!edge) return;
          busy.add(edge);
          await edge.kill();
          later(2000 + random() * 3000, async () => {
            await edge.start().catch(() => undefined);
            busy.delete(edge);
          });
        },
      ],
      [
        "node stopped (NDEATH), back later",
        async () => {
          const edge = pick(edges.filter((e) => e.up && !busy.has(e)));
          if (!edge) return;
          busy.add(edge);
          await edge.stop();
          later(2000 + random() * 3000, async () => {
            await edge.start().catch(() => undefined);
            busy.delete(edge);
          });
        },
      ],
      [
        "node rebirth",
        () => {
          pick(edges.filter((e) => e.up && !busy.has(e)))?.publishBirths();
        },
      ],
      [
        "stale NDEATH of an earlier session",
        () => {
          const edge = pick(edges.filter((e) => e.up));
          if (!edge) return;
          const old = new EdgeNodeEncoder("Soak", edge.options.edge, (edge.bdSeq + 255n) % 256n, []);
          const death = old.ndeath(Date.now());
          staleClient.publish(death.topic, Buffer.from(death.payload), { qos: 1 });
        },
      ],
    ];
    const started = Date.now();
    const churnTimer = setInterval(() => {
      const [kind, act] = pick(actions)!;
      count(kind);
      void act();
    }, 1000);
    const partitionTimer = setInterval(
      () => {
        count("handler's broker connection cut for 3 s");
        partition.cut();
        later(3000, () => partition.restore());
      },
      Math.min(40_000, options.durationMs / 3),
    );

    const samples: Sample[] = [];
    const sample = async () => {
      const metric = async (name: string) => (await serve.metric(name)) ?? Number.NaN;
      samples.push({
        at: Date.now() - started,
        rss: await metric("akri_mqtt_process_resident_memory_bytes"),
        heap: await metric("akri_mqtt_nodejs_heap_size_used_bytes"),
        handles: await metric("akri_mqtt_nodejs_active_handles_total"),
      });
    };
    /** What survives a full collection in the handler now (it writes a heap snapshot, which collects first). */
    const retained = async (): Promise<number> => {
      const before = new Set(await readdir(snapshots));
      serve.signal("SIGUSR2");
      // The handler writes the snapshot on its main thread; read it once it is whole.
      for (let waited = 0; waited < 60_000; waited += 200) {
        await new Promise((r) => setTimeout(r, 200));
        const file = (await readdir(snapshots)).find((f) => !before.has(f));
        if (file === undefined) continue;
        await serve.get("/healthz"); // the handler is past the snapshot
        const bytes = heapSnapshotBytes(await readFile(join(snapshots, file), "utf8"));
        if (bytes === undefined) continue;
        await rm(join(snapshots, file));
        return bytes;
      }
      throw new Error("the handler wrote no heap snapshot within 60 s");
    };
    let retainedAfterWarmup: number | undefined;
    while (Date.now() - started < options.durationMs) {
      if (
        retainedAfterWarmup === undefined &&
        Date.now() - started >= options.durationMs * options.warmupFraction
      )
        retainedAfterWarmup = await retained();
      await sample();
      const last = samples.at(-1)!;
      if (samples.length % 12 === 1)
        say(
          `${Math.round(last.at / 1000)} s: heap ${(last.heap / 2 ** 20).toFixed(1)} MiB, RSS ${(last.rss / 2 ** 20).toFixed(1)} MiB, handles ${last.handles}, lists ${call.lists.length}`,
        );
      await new Promise((r) => setTimeout(r, options.sampleEveryMs));
    }
    const retainedAtEnd = await retained();
    clearInterval(churnTimer);
    clearInterval(partitionTimer);
    // Quiesce: every node back, every device alive, the partition healed.
    partition.restore();
    for (const t of timers) clearTimeout(t);
    for (const edge of edges) {
      if (!edge.up) await edge.start().catch(() => undefined);
      for (const id of edge.options.devices) edge.reviveDevice(id);
    }
    busy.clear();
    await staleClient.endAsync();
    const expected = truth();
    let finalMatches = true;
    await eventually(() => same(call.ids(), expected), "the final list to equal the plant", 90_000).catch(
      () => {
        finalMatches = false;
      },
    );

    const after = samples.filter((s) => s.at >= options.durationMs * options.warmupFraction);
    const secondHalf = samples.filter((s) => s.at >= options.durationMs / 2);
    const quarter = Math.max(1, Math.floor(after.length / 4));
    const floor = (xs: Sample[]) => Math.min(...xs.map((s) => s.heap));
    const lists = call.lists.slice(bornAt);
    const result: SoakResult = {
      durationMs: Date.now() - started,
      samples,
      heapSlopeKiBPerMin: slopePerMinute(after.map((s) => [s.at, s.heap / 1024])),
      rssSlopeKiBPerMin: slopePerMinute(after.map((s) => [s.at, s.rss / 1024])),
      heapSlopeSecondHalfKiBPerMin: slopePerMinute(secondHalf.map((s) => [s.at, s.heap / 1024])),
      rssSlopeSecondHalfKiBPerMin: slopePerMinute(secondHalf.map((s) => [s.at, s.rss / 1024])),
      heapFloorGrowthBytes: floor(after.slice(-quarter)) - floor(after.slice(0, quarter)),
      retainedGrowthBytes: retainedAtEnd - (retainedAfterWarmup ?? retainedAtEnd),
      handlesAfterWarmup: after[0]?.handles ?? Number.NaN,
      handlesAtEnd: samples.at(-1)?.handles ?? Number.NaN,
      handlesMaxAfterWarmup: Math.max(...after.map((s) => s.handles)),
      churn,
      lists: lists.length,
      emptyListsAfterBirth: lists.filter((l) => l.length === 0).length,
      listsWithDuplicates: lists.filter((l) => new Set(l.map((d) => d.id)).size !== l.length).length,
      messagesReceived: Object.entries(await handlerMessages(serve)).reduce((s, [, v]) => s + v, 0),
      finalDevices: call.ids().length,
      expectedDevices: expected.length,
      finalMatches,
      handlerAlive: serve.exitCode === undefined,
    };
    call.cancel();
    return result;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const edge of edges) await edge.kill();
    await handler?.stop().catch(() => undefined);
    await agent.stop();
    await proxy?.stop();
    await broker.stop();
  }
}

async function handlerMessages(handler: HandlerProcess): Promise<Record<string, number>> {
  const { body } = await handler.get("/metrics");
  const out: Record<string, number> = {};
  for (const line of body.split("\n")) {
    const match = /^akri_mqtt_messages_total\{type="([^"]+)"\} (\d+)/.exec(line);
    if (match) out[match[1]!] = Number(match[2]);
  }
  return out;
}

/** The soak's figures as a table. */
export function printSoak(result: SoakResult): void {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const first = result.samples[0]!;
  const last = result.samples.at(-1)!;
  printTable(
    ["figure", "value"],
    [
      ["duration", `${(result.durationMs / 60_000).toFixed(1)} min`],
      ["messages received by the handler", result.messagesReceived.toLocaleString()],
      ...Object.entries(result.churn).map(([kind, n]) => [`  churn: ${kind}`, String(n)]),
      [
        "lists sent after the birth",
        `${result.lists} (empty: ${result.emptyListsAfterBirth}, with a duplicate id: ${result.listsWithDuplicates})`,
      ],
      ["heap first → last sample", `${mib(first.heap)} → ${mib(last.heap)}`],
      ["RSS first → last sample", `${mib(first.rss)} → ${mib(last.rss)}`],
      ["heap slope after warm-up", `${result.heapSlopeKiBPerMin.toFixed(1)} KiB/min`],
      ["RSS slope after warm-up", `${result.rssSlopeKiBPerMin.toFixed(1)} KiB/min`],
      [
        "heap / RSS slope, second half",
        `${result.heapSlopeSecondHalfKiBPerMin.toFixed(1)} / ${result.rssSlopeSecondHalfKiBPerMin.toFixed(1)} KiB/min`,
      ],
      ["heap floor growth (first → last quarter)", `${(result.heapFloorGrowthBytes / 1024).toFixed(0)} KiB`],
      [
        "retained heap growth after warm-up (full GC)",
        `${(result.retainedGrowthBytes / 1024).toFixed(0)} KiB`,
      ],
      [
        "open handles after warm-up → end (max)",
        `${result.handlesAfterWarmup} → ${result.handlesAtEnd} (${result.handlesMaxAfterWarmup})`,
      ],
      [
        "final list = the plant's true state",
        `${result.finalMatches} (${result.finalDevices} of ${result.expectedDevices})`,
      ],
    ],
  );
}

async function main(): Promise<void> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 30);
  const nodes = Number(process.env.SOAK_NODES ?? 40);
  process.stdout.write(`soak: ${minutes} min, ${nodes} edge nodes × 10 devices, one fault a second\n\n`);
  const result = await runSoak({
    durationMs: minutes * 60_000,
    nodes,
    devicesPerNode: 10,
    warmupFraction: 0.2,
    sampleEveryMs: 5000,
    seed: 30,
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  process.stdout.write("\n");
  printSoak(result);
  const { samples: _samples, ...figures } = result;
  await saveResults("soak", figures);
  if (!result.finalMatches || !result.handlerAlive) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
