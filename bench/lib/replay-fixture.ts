import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureWriter } from "../../src/streams/fixture-file.js";
import { FleetTraffic } from "./fleet-traffic.js";

/**
 * The replay benchmarks' gzip fixture of `messages` messages: births of 1,000 × 10 devices,
 * then their DATA at 20,000 messages a second of recorded time. Built once, cached in the
 * temp directory by size.
 */
export async function replayBenchFixture(messages: number): Promise<string> {
  const path = join(tmpdir(), `akri-mqtt-bench-replay-${messages}-v2.jsonl.gz`);
  if (existsSync(path)) return path;
  const fleet = new FleetTraffic({ nodes: 1000, devices: 10, metrics: 20, dataMetrics: 10 });
  // The writer gzips by the name's ending: the partial file keeps ".gz" at the end.
  const partial = `${path}.partial-${process.pid}.gz`;
  const writer = FixtureWriter.create(partial);
  let at = Date.UTC(2026, 0, 5, 10);
  let written = 0;
  for (let n = 0; n < fleet.shape.nodes && written < messages; n++) {
    for (const p of fleet.births(n, at)) {
      await writer.write({ topic: p.topic, payload: p.payload, qos: 0, retain: false, at });
      written++;
    }
    at += 1;
  }
  for (let k = 0; written < messages; k++, written++) {
    const { topic, payload } = fleet.data(k);
    if (k % 20 === 0) at += 1; // 20,000 messages a second of recorded time
    await writer.write({ topic, payload, qos: 0, retain: false, at });
  }
  await writer.close();
  await rename(partial, path);
  return path;
}
