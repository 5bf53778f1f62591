import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";

/*
 * A plant's births, encoded with the project's own encoder: every edge node's NBIRTH and its
 * devices' DBIRTHs (Device00, Device01, …, one metric each), node after node. The shard
 * tests replay it into several Configurations at once.
 */

/** `<group>/<edge>` of an edge node. */
export type NodeName = readonly [group: string, edge: string];

/** `nodes` edge nodes spread over four groups: Plant0/Edge0000, Plant1/Edge0001, … */
export function plantNodes(nodes: number): NodeName[] {
  return Array.from({ length: nodes }, (_, n) => [`Plant${n % 4}`, `Edge${String(n).padStart(4, "0")}`]);
}

/** The device ids of a node of `devices` devices. */
function deviceNames(devices: number): string[] {
  return Array.from({ length: devices }, (_, d) => `Device${String(d).padStart(2, "0")}`);
}

/** The births of every node of `nodes`, each with `devices` devices, in the order given. */
export function plantBirths(nodes: readonly NodeName[], devices: number, timestamp: number): EdgePublish[] {
  const out: EdgePublish[] = [];
  for (const [group, edge] of nodes) {
    const encoder = new EdgeNodeEncoder(group, edge, 0n);
    for (const name of deviceNames(devices))
      encoder.defineDevice(name, {
        metrics: [{ name: "Level", alias: 1, datatype: DataType.Double, value: 0 }],
      });
    out.push(...encoder.births(timestamp));
  }
  return out;
}
