/*
 * Shards: one plant of 100,000 devices (10,000 edge nodes × 10 devices, 20 birth metrics
 * each) split over 8 Configurations by `sparkplug.shard`, in one handler: 8 discovery engines
 * over the same messages in this process, as `serve` runs 8 Discover streams, against one
 * Configuration of the whole plant. Figures: CPU per DATA message (the 8 engines together
 * against the one; each engine still runs its own host session, so this is about 8x until the
 * host session is shared), each shard's list as the Akri layer encodes it (goal: none over the
 * agent's 4 MiB, where the whole plant's is cut), and each shard's Akri instance-hash
 * collisions (pairs of listed ids whose 3-byte hash is the same: Akri keeps one instance).
 * Run: npm run bench:shards
 */
import { encodeList, MAX_RESPONSE_BYTES } from "../src/akri/discover-service.js";
import { InstanceHashes } from "../src/discovery/device.js";
import { FleetTraffic } from "./lib/fleet-traffic.js";
import { cpuPerMessage, InProcessEngine } from "./lib/in-process-engine.js";
import { InProcessSharedHost } from "./lib/in-process-shared.js";
import { formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_SHARDS_NODES", 10_000, 100);
const SHARDS = 8;
const DATA_MESSAGES = sized("BENCH_SHARDS_DATA", 100_000, 2_000);
const ROUNDS = 3;

const shape = { nodes: NODES, devices: 10, metrics: 20, dataMetrics: 10 };
const details = (shard?: number) =>
  shard === undefined
    ? "serverUrls: [tcp://plant:1883]\nsparkplug: {publishState: false}"
    : `serverUrls: [tcp://plant:1883]\nsparkplug: {publishState: false, shard: {count: ${SHARDS}, index: ${shard}}}`;

/** What reads the plant in this process: one engine, or one host shared by several. */
interface Reader {
  now: number;
  message(topic: string, payload: Uint8Array): unknown;
}

/**
 * Readers that all see one plant's messages: the plant's own traffic (its seqs advance once
 * per message, whatever number of readers take it).
 */
class Plant {
  readonly fleet = new FleetTraffic(shape);
  private sent = 0;

  constructor(readonly engines: Reader[]) {
    for (let n = 0; n < NODES; n++)
      for (const m of this.fleet.births(n, 0)) for (const h of engines) h.message(m.topic, m.payload);
  }

  /** The next `count` DATA messages (made before they are timed). */
  data(count: number): { topic: string; payload: Buffer }[] {
    const traffic = Array.from({ length: count }, (_, k) => this.fleet.data(this.sent + k));
    this.sent += count;
    return traffic;
  }

  /** CPU µs per DATA message of every engine taking `count` messages. */
  cpuPerData(count: number): number {
    const traffic = this.data(count);
    let stepped = 0;
    return cpuPerMessage(count, () => {
      for (const m of traffic) {
        for (const h of this.engines) {
          h.message(m.topic, m.payload);
          if (stepped % 100 === 0) h.now++;
        }
        stepped++;
      }
    });
  }
}

/** How many listed ids lose their Akri instance to another's hash (the second of each pair). */
function collisions(ids: readonly { id: string; properties: Record<string, string> }[]): number {
  const hashes = new InstanceHashes();
  for (const device of ids) hashes.add(device.id);
  return hashes.collisions(ids).length;
}

export async function main(): Promise<void> {
  const one = new InProcessEngine(details());
  const shared = new InProcessSharedHost(Array.from({ length: SHARDS }, (_, i) => details(i)));
  const whole = new Plant([one]);
  const shards = new Plant([shared]);
  // Warmed up, then rounds of each in turn; medians (the machine is shared and noisy).
  whole.cpuPerData(DATA_MESSAGES / 4);
  shards.cpuPerData(DATA_MESSAGES / 4);
  const ones: number[] = [];
  const eights: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ones.push(whole.cpuPerData(DATA_MESSAGES));
    eights.push(shards.cpuPerData(DATA_MESSAGES));
  }
  const [oneCpuUs, shardsCpuUs] = [median(ones), median(eights)];

  const wholeList = one.engine.discoverer.list();
  const wholeEncoded = encodeList(wholeList, MAX_RESPONSE_BYTES);
  const wholeCollisions = collisions(wholeList);
  const perShard = shared.engines.map((engine, index) => {
    const list = engine.discoverer.list();
    const { bytes, cut } = encodeList(list, MAX_RESPONSE_BYTES);
    return { index, devices: list.length, bytes: bytes.length, cut, collisions: collisions(list) };
  });
  const listed = perShard.reduce((n, s) => n + s.devices, 0);
  if (listed !== wholeList.length)
    throw new Error(`shards list ${listed} devices, the plant has ${wholeList.length}`);
  const devices = wholeList.length;
  const largest = Math.max(...perShard.map((s) => s.bytes));
  const overLimit = perShard.filter((s) => s.cut > 0).length;

  process.stdout.write(
    `shards: ${devices.toLocaleString()} devices (${NODES.toLocaleString()} edge nodes × 10) over ${SHARDS} Configurations, in process\n\n`,
  );
  printTable(
    ["shard", "devices", "list bytes", "cut", "instance-hash collisions"],
    [
      ...perShard.map((s) => [
        `${s.index} of ${SHARDS}`,
        s.devices.toLocaleString(),
        s.bytes.toLocaleString(),
        s.cut,
        s.collisions,
      ]),
      [
        "whole plant",
        devices.toLocaleString(),
        wholeEncoded.bytes.length.toLocaleString(),
        wholeEncoded.cut,
        wholeCollisions,
      ],
    ],
  );
  const ratio = shardsCpuUs / oneCpuUs;
  process.stdout.write(
    `\nCPU per DATA message: ${SHARDS} shards ${shardsCpuUs.toFixed(2)} µs, one Configuration ${oneCpuUs.toFixed(2)} µs (${ratio.toFixed(2)}x; rounds ${eights.map((e, i) => (e / ones[i]!).toFixed(2)).join(", ")}x; goal <= 1.3x)\n`,
  );

  const collisionCounts = perShard.map((s) => s.collisions);
  await saveResults(
    "shards",
    {
      devices,
      shards: SHARDS,
      oneCpuUs,
      shardsCpuUs,
      ratio,
      rounds: { one: ones, shards: eights },
      perShard,
      largestListBytes: largest,
      listsOverLimit: overLimit,
      wholePlant: { bytes: wholeEncoded.bytes.length, cut: wholeEncoded.cut, collisions: wholeCollisions },
    },
    [
      {
        benchmark: `${SHARDS} shards of ${devices.toLocaleString()} devices, CPU/DATA msg`,
        ours: `${shardsCpuUs.toFixed(2)} µs`,
        baseline: `one Configuration ${oneCpuUs.toFixed(2)} µs`,
        ratio: formatRatio(ratio),
        goal: "<= 1.3x",
      },
      {
        benchmark: "  largest shard's list; instance-hash collisions per shard",
        ours: `${(largest / 1024 / 1024).toFixed(2)} MiB, ${overLimit} over 4 MiB`,
        baseline: `whole plant cut at ${wholeEncoded.kept.toLocaleString()}; ${wholeCollisions} collisions`,
        ratio: `${Math.min(...collisionCounts)}–${Math.max(...collisionCounts)} collisions`,
        goal: "none over 4 MiB",
      },
    ],
  );
}

await main();
