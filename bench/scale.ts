/*
 * Scale: a plant grown to 1,000, 10,000 and 100,000 devices (10 devices per edge node,
 * 20 birth metrics each; the last 90,000 born within one minute), through Mosquitto into
 * akri-mqtt's discovery pipeline in its own process (lib/scale-plant.ts). At each size: time
 * from the last birth to the device list with every device, CPU time per DATA message under
 * steady traffic, and resident and heap memory per device after GC once every device has
 * sent DATA (what the host keeps for DATA counts; heap after the births alone is saved
 * beside it). Goals: settled within 2 s of the last birth; <= 2 KiB per device; CPU per
 * message flat.
 * Three more, in this process, through the discovery engine (lib/scale-in-process.ts), CPU
 * per message at three sizes, flat as well: generic (plain MQTT) discovery with 1,000 to
 * 100,000 topic devices; a cold start: joining a running plant of 100 to 10,000 edge nodes
 * whose births were missed, while their DATA keeps flowing and the rebirth requests go out
 * ten per second; and one broker against two.
 * Run: npm run bench:scale
 */
import { formatRatio, printTable, type SummaryRow, saveResults, sized } from "./lib/measure.js";
import { brokersCompared, coldStartScale, type Growth, genericScale } from "./lib/scale-in-process.js";
import { growPlant, type PlantLevel } from "./lib/scale-plant.js";

const PUBLISHERS = 2;
const TOTAL_NODES = sized("BENCH_SCALE_NODES", 10_000, 200);
const PACE_SECONDS = sized("BENCH_SCALE_PACE_S", 55, 1);
const DATA_MESSAGES = sized("BENCH_SCALE_DATA", 100_000, 2_000);
const GENERIC_DEVICES = sized("BENCH_SCALE_GENERIC", 100_000, 2_000);
const COLD_NODES = sized("BENCH_SCALE_COLD_NODES", 10_000, 200);
const BROKER_NODES = sized("BENCH_SCALE_BROKER_NODES", 1_000, 50);

const kib = (bytes: number) => (bytes / 1024).toFixed(2);
const us = (cpu: number) => cpu.toFixed(2);

function plantRows(levels: PlantLevel[], cpuGrowth: number): SummaryRow[] {
  return [
    ...levels.map((l) => ({
      benchmark: `scale ${l.devices.toLocaleString()} devices`,
      ours: `settled ${l.settleMs} ms`,
      baseline: `${kib(l.heapBytesPerDevice)} KiB heap, ${kib(l.rssBytesPerDevice)} KiB RSS /device`,
      ratio: `${us(l.cpuUsPerDataMessage)} µs/msg`,
      goal: "<= 2000 ms, <= 2 KiB",
    })),
    {
      benchmark: "  CPU/msg largest vs smallest plant",
      ours: "",
      baseline: "",
      ratio: formatRatio(cpuGrowth),
      goal: "flat (~1x)",
    },
  ];
}

type CpuGrowth = Growth<{ cpuUsPerMessage: number }>;

/** Prints one in-process measurement: CPU per message at each size, and how it grew. */
function printGrowth(title: string, sizeHeader: string, sizes: number[], g: CpuGrowth): void {
  process.stdout.write(`\n${title}\n\n`);
  printTable(
    [sizeHeader, "CPU / message"],
    g.levels.map((l, i) => [sizes[i]!.toLocaleString(), `${us(l.cpuUsPerMessage)} µs`]),
  );
  process.stdout.write(`\ngoal: flat (largest / smallest = ${g.cpuGrowth.toFixed(2)}x)\n`);
}

function growthRow(benchmark: string, g: CpuGrowth, sizes: number[], unit: string): SummaryRow {
  return {
    benchmark,
    ours: `${g.levels.map((l) => us(l.cpuUsPerMessage)).join(" / ")} µs`,
    baseline: `${sizes.map((n) => n.toLocaleString()).join(" / ")} ${unit}`,
    ratio: formatRatio(g.cpuGrowth),
    goal: "flat (~1x)",
  };
}

export async function main(): Promise<void> {
  const levels = await growPlant({
    publishers: PUBLISHERS,
    levels: [TOTAL_NODES / 100, TOTAL_NODES / 10, TOTAL_NODES],
    paceSeconds: PACE_SECONDS,
    dataMessages: DATA_MESSAGES,
  });
  process.stdout.write(
    `scale: ${TOTAL_NODES.toLocaleString()} edge nodes × 10 devices × 20 birth metrics, through Mosquitto\n\n`,
  );
  printTable(
    ["devices", "list settled after last birth", "RSS / device", "heap / device", "CPU / DATA msg"],
    levels.map((l) => [
      l.devices.toLocaleString(),
      `${l.settleMs} ms`,
      `${kib(l.rssBytesPerDevice)} KiB`,
      `${kib(l.heapBytesPerDevice)} KiB`,
      `${us(l.cpuUsPerDataMessage)} µs`,
    ]),
  );
  const cpuGrowth = levels.at(-1)!.cpuUsPerDataMessage / levels[0]!.cpuUsPerDataMessage;
  process.stdout.write(
    `\ngoals: settled <= 2000 ms; <= 2 KiB per device; CPU per message flat (largest / smallest = ${cpuGrowth.toFixed(2)}x)\n`,
  );

  const generic = genericScale(GENERIC_DEVICES);
  const genericSizes = generic.levels.map((l) => l.devices);
  printGrowth(
    "generic discovery (in process): CPU per message by fleet size",
    "topic devices",
    genericSizes,
    generic,
  );
  const cold = coldStartScale(COLD_NODES);
  const coldSizes = cold.levels.map((l) => l.nodes);
  printGrowth(
    "cold start (in process): CPU per DATA message while unknown nodes wait for rebirth",
    "unknown edge nodes",
    coldSizes,
    cold,
  );

  const brokers = brokersCompared(BROKER_NODES);
  process.stdout.write(
    `\nseveral brokers (in process): CPU per DATA message, ${BROKER_NODES.toLocaleString()} nodes on one broker ${us(brokers.oneBrokerCpuUs)} µs, spread over two ${us(brokers.twoBrokersCpuUs)} µs (${brokers.ratio.toFixed(2)}x; goal ~1x)\n`,
  );

  await saveResults(
    "scale",
    {
      brokers,
      levels,
      cpuGrowth,
      generic,
      coldStart: cold,
      goals: { settleMs: 2000, bytesPerDevice: 2048 },
    },
    [
      ...plantRows(levels, cpuGrowth),
      growthRow("generic discovery CPU/msg", generic, genericSizes, "topics"),
      growthRow("cold start CPU/msg (unknown nodes)", cold, coldSizes, "nodes"),
      {
        benchmark: "two brokers vs one, CPU/DATA msg",
        ours: `${us(brokers.twoBrokersCpuUs)} µs`,
        baseline: `one broker ${us(brokers.oneBrokerCpuUs)} µs (${brokers.nodes.toLocaleString()} nodes)`,
        ratio: formatRatio(brokers.ratio),
        goal: "~1x",
      },
    ],
  );
}

await main();
