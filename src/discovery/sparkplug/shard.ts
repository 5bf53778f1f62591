import { createHash } from "node:crypto";
import type { SparkplugDetails } from "./details.js";

/*
 * `sparkplug.shard`: one plant split over several Configurations, each listing the edge nodes
 * (with all their devices) of its shard. The edge node is the unit, so a node's devices stay
 * together, and its shard is a pure function of its identity and the count: the same on every
 * node of the cluster, in every process and version, whatever order births come in, and it
 * never changes while the count stays. SHA-256 because Node has it built in, it is the same
 * everywhere, and its bits are even: any 4 of them split a plant evenly.
 */

/** A Configuration's shard: `index` of `count` (0 <= index < count). */
type Shard = NonNullable<SparkplugDetails["shard"]>;

/**
 * The shard of edge node `<group>/<edge>` among `count`: the first 4 bytes of the SHA-256 of
 * its UTF-8 `<group>/<edge>`, read as a big-endian unsigned 32-bit integer, modulo `count`.
 * (Documented in the README: a change here moves every plant's devices to other Configurations.)
 */
export function shardOf(group: string, edge: string, count: number): number {
  const digest = createHash("sha256").update(`${group}/${edge}`, "utf8").digest();
  return digest.readUInt32BE(0) % count;
}

/** Whether a Configuration of `shard` (none: the whole plant) lists edge node `<group>/<edge>`. */
export function inShard(shard: Shard | undefined, group: string, edge: string): boolean {
  return shard === undefined || shard.count === 1 || shardOf(group, edge, shard.count) === shard.index;
}
