/*
 * Several Configurations over one plant (one per device class: each Configuration's
 * deviceIds pick its share), in one handler: CPU per DATA message and heap per device with
 * 1, 4 and 16 Configurations sharing one Sparkplug host session, each against 1, measured
 * side by side in one process (alternating rounds, so all see the same background load).
 * Beside them, for the record: 4 and 16 Configurations each with a session of its own (what
 * `serve` ran before they shared one), fed the same messages.
 * Run with --expose-gc (run-all does).   Goals: ≤ 1.2x at 4, ≤ 1.5x at 16.
 * The host made first in a process runs slower than later ones however it is warmed up (a
 * throwaway one takes most of that): BENCH_CONFIG_REVERSE=1 makes the 16 first, to see it.
 */
import { FleetTraffic } from "./lib/fleet-traffic.js";
import { InProcessEngine } from "./lib/in-process-engine.js";
import { InProcessSharedHost } from "./lib/in-process-shared.js";
import { median, printTable, type SummaryRow, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_CONFIG_NODES", 500, 20);
const DEVICES = 16;
const ROUNDS = sized("BENCH_CONFIG_ROUNDS", 9, 2);
const ROUND_MESSAGES = sized("BENCH_CONFIG_MESSAGES", 20_000, 500);
const COUNTS = [1, 4, 16] as const;
const gc = (globalThis as { gc?: () => void }).gc;

/** Configuration i of n: the devices whose index is i modulo n (all of them when n is 1). */
function detailsOf(i: number, n: number): string {
  const items = Array.from({ length: DEVICES }, (_, d) => d)
    .filter((d) => d % n === i)
    .map((d) => `Device${String(d).padStart(2, "0")}`);
  return `serverUrls: [tcp://plant:1883]\nconfigurationName: class${i}\nsparkplug:\n  publishState: false\n  deviceIds: {action: Include, items: [${items.join(", ")}]}\n`;
}

interface Candidate {
  feed(topic: string, payload: Uint8Array): void;
  tick(): void;
  listed(): number;
}

function shared(n: number): Candidate {
  const host = new InProcessSharedHost(Array.from({ length: n }, (_, i) => detailsOf(i, n)));
  return {
    feed: (topic, payload) => host.message(topic, payload),
    tick: () => {
      host.now++;
    },
    listed: () => host.engines.reduce((sum, e) => sum + e.discoverer.list().length, 0),
  };
}

/** n Configurations each with a host session of its own, every one fed every message. */
function separate(n: number): Candidate {
  const engines = Array.from({ length: n }, (_, i) => new InProcessEngine(detailsOf(i, n)));
  return {
    feed: (topic, payload) => {
      for (const e of engines) e.message(topic, payload);
    },
    tick: () => {
      for (const e of engines) e.now++;
    },
    listed: () => engines.reduce((sum, e) => sum + e.engine.discoverer.list().length, 0),
  };
}

function heapNow(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

interface Setup {
  name: string;
  configurations: number;
  candidate: Candidate;
  fleet: FleetTraffic;
  heapBytesPerDevice: number;
  sent: number;
}

/** Makes a candidate, feeds it the plant's births and one DATA from every device; its heap per device. */
function setUp(name: string, configurations: number, make: (n: number) => Candidate): Setup {
  const fleet = new FleetTraffic({ nodes: NODES, devices: DEVICES, metrics: 20, dataMetrics: 10 });
  // The plant's traffic generator is not the handler's: weighed before, so not counted.
  const before = heapNow();
  const candidate = make(configurations);
  for (let n = 0; n < NODES; n++) for (const m of fleet.births(n, 0)) candidate.feed(m.topic, m.payload);
  for (let k = 0; k < NODES * DEVICES; k++) {
    const m = fleet.data(k);
    candidate.feed(m.topic, m.payload);
  }
  const devices = fleet.deviceCount;
  if (candidate.listed() !== devices) throw new Error(`${name}: ${candidate.listed()} listed of ${devices}`);
  return {
    name,
    configurations,
    candidate,
    fleet,
    heapBytesPerDevice: (heapNow() - before) / devices,
    sent: NODES * DEVICES,
  };
}

function cpuRound(setup: Setup): number {
  const traffic = Array.from({ length: ROUND_MESSAGES }, () => setup.fleet.data(setup.sent++));
  const start = process.cpuUsage();
  for (let i = 0; i < traffic.length; i++) {
    const m = traffic[i]!;
    setup.candidate.feed(m.topic, m.payload);
    if (i % 100 === 0) setup.candidate.tick();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / traffic.length;
}

async function main(): Promise<void> {
  if (gc === undefined) throw new Error("run with --expose-gc");
  // A first host made and fed, then dropped: whatever the first one made in a process pays
  // (code compiled while its maps grow, their first shapes) is paid here, not by one candidate.
  setUp("warm-up", 4, shared);
  const setups = [
    ...(process.env.BENCH_CONFIG_REVERSE ? [...COUNTS].reverse() : COUNTS).map((n) =>
      setUp(`shared ×${n}`, n, shared),
    ),
    ...COUNTS.filter((n) => n > 1).map((n) => setUp(`separate ×${n}`, n, separate)),
  ];
  const samples = new Map<Setup, number[]>(setups.map((s) => [s, []]));
  // Warm-up: every candidate's code paths compiled before any round counts.
  for (let i = 0; i < 3; i++) for (const setup of setups) cpuRound(setup);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const setup of order) samples.get(setup)!.push(cpuRound(setup));
  }
  const one = setups.find((s) => s.name === "shared ×1")!;
  const oneCpu = median(samples.get(one)!);
  const rows = setups.map((s) => {
    const cpu = median(samples.get(s)!);
    return {
      name: s.name,
      configurations: s.configurations,
      cpuUsPerMessage: cpu,
      cpuRatio: cpu / oneCpu,
      heapBytesPerDevice: s.heapBytesPerDevice,
      heapRatio: s.heapBytesPerDevice / one.heapBytesPerDevice,
    };
  });
  printTable(
    ["Configurations", "CPU / DATA msg", "vs 1", "heap / device", "vs 1"],
    rows.map((r) => [
      r.name,
      `${r.cpuUsPerMessage.toFixed(2)} µs`,
      `${r.cpuRatio.toFixed(2)}x`,
      `${(r.heapBytesPerDevice / 1024).toFixed(2)} KiB`,
      `${r.heapRatio.toFixed(2)}x`,
    ]),
  );
  const goals: Record<number, number> = { 4: 1.2, 16: 1.5 };
  const summary: SummaryRow[] = rows
    .filter((r) => r.name.startsWith("shared") && r.configurations > 1)
    .map((r) => ({
      benchmark: `${r.configurations} Configurations, one plant (CPU / DATA msg; heap / device)`,
      ours: `${r.cpuUsPerMessage.toFixed(2)} µs; ${(r.heapBytesPerDevice / 1024).toFixed(2)} KiB`,
      baseline: `1 Configuration: ${oneCpu.toFixed(2)} µs; ${(one.heapBytesPerDevice / 1024).toFixed(2)} KiB`,
      ratio: `${r.cpuRatio.toFixed(2)}x; ${r.heapRatio.toFixed(2)}x`,
      goal: `≤ ${goals[r.configurations]}x`,
    }));
  await saveResults(
    "configurations",
    { nodes: NODES, devicesPerNode: DEVICES, rounds: ROUNDS, roundMessages: ROUND_MESSAGES, rows },
    summary,
  );
}

await main();
