/*
 * The scale benchmark's plant: edge nodes born in steps through Mosquitto (publisher
 * processes) into akri-mqtt's discovery pipeline in a process of its own (scale-consumer),
 * measured at each step.
 */
import { Mosquitto, mosquittoBinary } from "../../test/support/mosquitto.js";
import { runHelper } from "./child.js";

/** What one step of the plant measured. */
export interface PlantLevel {
  devices: number;
  /** From the last birth to the device list with every device. */
  settleMs: number;
  rssBytesPerDevice: number;
  heapBytesPerDevice: number;
  /** Heap per device after the births alone (before DATA). */
  heapBytesPerDeviceAfterBirths: number;
  cpuUsPerDataMessage: number;
}

export interface PlantShape {
  publishers: number;
  /** Edge nodes (10 devices, 20 birth metrics each) in the plant at each step. */
  levels: readonly number[];
  /** The last step is born over this long. */
  paceSeconds: number;
  /** DATA messages sent at each step, for CPU and memory. */
  dataMessages: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Grows the plant step by step through a fresh Mosquitto; one measurement per step. */
export async function growPlant(shape: PlantShape): Promise<PlantLevel[]> {
  if (!mosquittoBinary()) throw new Error("the scale benchmark needs mosquitto");
  const { publishers: count, levels, paceSeconds, dataMessages } = shape;
  const broker = await Mosquitto.start({ extraConfig: ["max_queued_messages 0"] });
  const share = levels.at(-1)! / count;
  const publishers = Array.from({ length: count }, (_, i) =>
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
  const results: PlantLevel[] = [];
  try {
    await Promise.all(publishers.map((p) => p.waitFor("ready", 300_000)));
    const base = (await consumer.waitFor("online")).memory as Memory;
    let born = 0;
    for (const [i, nodes] of levels.entries()) {
      const devices = nodes * 10;
      const perPublisher = nodes / count;
      consumer.send({ do: "await-devices", count: devices });
      // The largest step is paced to take about a minute, as a plant's cold start would.
      const births = (perPublisher - born / count) * 11;
      const paced = i === levels.length - 1 ? { perSecond: Math.ceil(births / paceSeconds) } : {};
      for (const p of publishers) p.send({ do: "births", from: born / count, to: perPublisher, ...paced });
      const done = await Promise.all(publishers.map((p) => p.waitFor("births-done", 300_000)));
      const lastBirth = Math.max(...done.map((d) => Number(d.lastBirthAt)));
      const listed = await consumer.waitFor("listed", 300_000);
      const settleMs = Number(listed.at) - lastBirth;
      born = nodes;
      consumer.send({ do: "memory" });
      const afterBirths = (await consumer.waitFor("memory", 120_000)).memory as Memory;
      consumer.send({ do: "expect-data", count: dataMessages });
      for (const p of publishers) p.send({ do: "data", count: dataMessages / count, nodes: perPublisher });
      await Promise.all(publishers.map((p) => p.waitFor("data-done", 300_000)));
      const data = await consumer.waitFor("data-done", 300_000);
      // Memory once every device has sent DATA too (what it keeps for DATA is part of its cost).
      consumer.send({ do: "memory" });
      const memory = (await consumer.waitFor("memory", 120_000)).memory as Memory;
      const heap = (m: Memory) => (m.heapUsed + m.external - base.heapUsed - base.external) / devices;
      results.push({
        devices,
        settleMs,
        rssBytesPerDevice: (memory.rss - base.rss) / devices,
        heapBytesPerDevice: heap(memory),
        heapBytesPerDeviceAfterBirths: heap(afterBirths),
        cpuUsPerDataMessage: Number(data.cpuUs) / dataMessages,
      });
    }
    return results;
  } finally {
    consumer.send({ do: "exit" });
    for (const p of publishers) p.kill();
    await broker.stop();
  }
}
