/*
 * One candidate of bench/configurations.ts in a process of its own: n Configurations over one
 * plant, either sharing one Sparkplug host session (what `serve` runs) or each with a session
 * of its own (what it ran before). It sets up the plant, reports its heap per device, then
 * CPU per DATA message over `rounds` rounds. Each candidate gets a fresh V8, so none pays or
 * escapes what the first host made in a process pays (its code compiled while maps grow).
 * Run with --expose-gc.
 */
import { helperContext } from "./child.js";
import { FleetTraffic } from "./fleet-traffic.js";
import { InProcessEngine } from "./in-process-engine.js";
import { InProcessSharedHost } from "./in-process-shared.js";

export interface CandidateOptions {
  kind: "shared" | "separate";
  configurations: number;
  nodes: number;
  devices: number;
  rounds: number;
  roundMessages: number;
}

interface Candidate {
  feed(topic: string, payload: Uint8Array): void;
  tick(): void;
  listed(): number;
}

const { options, report } = helperContext<CandidateOptions>();
const gc = (globalThis as { gc?: () => void }).gc;

/** Configuration i of n: the devices whose index is i modulo n (all of them when n is 1). */
function detailsOf(i: number, n: number): string {
  const items = Array.from({ length: options.devices }, (_, d) => d)
    .filter((d) => d % n === i)
    .map((d) => `Device${String(d).padStart(2, "0")}`);
  return `serverUrls: [tcp://plant:1883]\nconfigurationName: class${i}\nsparkplug:\n  publishState: false\n  deviceIds: {action: Include, items: [${items.join(", ")}]}\n`;
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

if (gc === undefined) throw new Error("run with --expose-gc");
const fleet = new FleetTraffic({
  nodes: options.nodes,
  devices: options.devices,
  metrics: 20,
  dataMetrics: 10,
});
// The plant's traffic generator is not the handler's: weighed before, so not counted.
const before = heapNow();
const candidate = (options.kind === "shared" ? shared : separate)(options.configurations);
for (let n = 0; n < options.nodes; n++)
  for (const m of fleet.births(n, 0)) candidate.feed(m.topic, m.payload);
let sent = 0;
for (; sent < fleet.deviceCount; sent++) {
  const m = fleet.data(sent);
  candidate.feed(m.topic, m.payload);
}
if (candidate.listed() !== fleet.deviceCount)
  throw new Error(`${candidate.listed()} listed of ${fleet.deviceCount}`);
const heapBytesPerDevice = (heapNow() - before) / fleet.deviceCount;

function cpuRound(): number {
  const traffic = Array.from({ length: options.roundMessages }, () => fleet.data(sent++));
  const start = process.cpuUsage();
  for (let i = 0; i < traffic.length; i++) {
    const m = traffic[i]!;
    candidate.feed(m.topic, m.payload);
    if (i % 100 === 0) candidate.tick();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / traffic.length;
}

// Warm-up: the code paths compiled before any round counts.
for (let i = 0; i < 3; i++) cpuRound();
const cpuUsPerMessage = Array.from({ length: options.rounds }, cpuRound);
report("result", { heapBytesPerDevice, cpuUsPerMessage });
