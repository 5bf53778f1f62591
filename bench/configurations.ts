/*
 * Several Configurations over one plant (one per device class: each Configuration's
 * deviceIds pick its share), in one handler: CPU per DATA message and heap per device with
 * 1, 4 and 16 Configurations sharing one Sparkplug host session, each against 1. Beside
 * them, for the record: 4 and 16 Configurations each with a session of its own (what `serve`
 * ran before they shared one), fed the same messages.
 *
 * Each candidate runs in a process of its own (bench/lib/configurations-candidate.ts), one
 * after another in alternating order, BENCH_CONFIG_PROCESSES times each; its figure is the
 * median over its processes of their medians. Side by side in one process, the host made
 * first ran slower than later ones however it was warmed up, so the ratio at 4 ranged
 * 0.45–1.92x between runs; in fresh processes every candidate starts alike.
 * Goals: ≤ 1.2x at 4, ≤ 1.5x at 16.
 */
import { runHelper } from "./lib/child.js";
import type { CandidateOptions } from "./lib/configurations-candidate.js";
import { median, printTable, type SummaryRow, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_CONFIG_NODES", 500, 20);
const DEVICES = 16;
const PROCESSES = sized("BENCH_CONFIG_PROCESSES", 5, 1);
const ROUNDS = sized("BENCH_CONFIG_ROUNDS", 7, 2);
const ROUND_MESSAGES = sized("BENCH_CONFIG_MESSAGES", 20_000, 500);
const COUNTS = [1, 4, 16] as const;

interface Candidate {
  name: string;
  kind: CandidateOptions["kind"];
  configurations: number;
  heap: number[];
  cpu: number[];
}

async function runCandidate(c: Candidate): Promise<void> {
  const options: CandidateOptions = {
    kind: c.kind,
    configurations: c.configurations,
    nodes: NODES,
    devices: DEVICES,
    rounds: ROUNDS,
    roundMessages: ROUND_MESSAGES,
  };
  const child = runHelper("configurations-candidate", { ...options }, ["--expose-gc"]);
  const result = await Promise.race([
    child.waitFor("result", 600_000),
    child.exited.then((code) => {
      throw new Error(`${c.name}: its process exited with ${code} before a result (BENCH_DEBUG=1 shows why)`);
    }),
  ]);
  await child.exited;
  c.heap.push(result.heapBytesPerDevice as number);
  c.cpu.push(median(result.cpuUsPerMessage as number[]));
}

async function main(): Promise<void> {
  const candidates: Candidate[] = [
    ...COUNTS.map((n) => ({
      name: `shared ×${n}`,
      kind: "shared" as const,
      configurations: n,
      heap: [],
      cpu: [],
    })),
    ...COUNTS.filter((n) => n > 1).map((n) => ({
      name: `separate ×${n}`,
      kind: "separate" as const,
      configurations: n,
      heap: [],
      cpu: [],
    })),
  ];
  for (let round = 0; round < PROCESSES; round++) {
    const order = round % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) await runCandidate(c);
  }
  const one = candidates.find((c) => c.name === "shared ×1")!;
  const oneCpu = median(one.cpu);
  const oneHeap = median(one.heap);
  const rows = candidates.map((c) => {
    const cpu = median(c.cpu);
    const heap = median(c.heap);
    return {
      name: c.name,
      configurations: c.configurations,
      cpuUsPerMessage: cpu,
      cpuRatio: cpu / oneCpu,
      cpuByProcess: c.cpu,
      heapBytesPerDevice: heap,
      heapRatio: heap / oneHeap,
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
      baseline: `1 Configuration: ${oneCpu.toFixed(2)} µs; ${(oneHeap / 1024).toFixed(2)} KiB`,
      ratio: `${r.cpuRatio.toFixed(2)}x; ${r.heapRatio.toFixed(2)}x`,
      goal: `≤ ${goals[r.configurations]}x`,
    }));
  await saveResults(
    "configurations",
    {
      nodes: NODES,
      devicesPerNode: DEVICES,
      processes: PROCESSES,
      rounds: ROUNDS,
      roundMessages: ROUND_MESSAGES,
      rows,
    },
    summary,
  );
}

await main();
