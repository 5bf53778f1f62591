import { beforeAll, describe, expect, it } from "vitest";
import type { EdgePublish } from "../../../../src/sparkplug/edge-node-encoder.js";
import { EngineHarness } from "../../../support/engine-harness.js";
import { type NodeName, plantBirths, plantNodes } from "../../../support/plant-births.js";

/*
 * One plant split over several Configurations by `sparkplug.shard` (README, "A plant over
 * several Configurations"): each Configuration lists the edge nodes whose hash of
 * `<group>/<edge>` (the first 4 bytes of its SHA-256, big-endian, mod count) is its index,
 * with all their devices. Here 8 engines, one per shard, replay the same 10,000 devices
 * (1,000 nodes × 10), as `serve` runs one Discover stream per Configuration.
 */

const COUNT = 8;
const NODES = 1_000;
const DEVICES = 10;
const T0 = Date.UTC(2026, 0, 5, 10);

const details = (index: number, count = COUNT) =>
  `serverUrls: [tcp://plant:1883]\nsparkplug: {discover: both, shard: {count: ${count}, index: ${index}}}`;

/** What each shard lists after the births: one harness (a fresh engine) per shard. */
function shardLists(births: readonly EdgePublish[], count = COUNT): string[][] {
  return Array.from({ length: count }, (_, index) => {
    const h = new EngineHarness(details(index, count), { start: T0 });
    for (const p of births) h.publish(p, 1);
    h.settle();
    return h.ids();
  });
}

const nodeOf = (id: string) => id.split("/").slice(1, 3).join("/");

describe("a plant split over 8 shards", () => {
  const nodes = plantNodes(NODES);
  let lists: string[][];
  beforeAll(() => {
    lists = shardLists(plantBirths(nodes, DEVICES, T0));
  });

  it("lists every device and edge node of a 10,000-device plant in exactly one shard, a node with its devices", () => {
    const all = lists.flat();
    expect(all).toHaveLength(NODES * (DEVICES + 1));
    expect(new Set(all).size).toBe(all.length);
    // The node is the unit: its devices and itself are all in the one shard it is in.
    const shardOfNode = new Map<string, number>();
    for (const [index, ids] of lists.entries())
      for (const id of ids) {
        const node = nodeOf(id);
        expect(shardOfNode.get(node) ?? index, id).toBe(index);
        shardOfNode.set(node, index);
      }
    expect(shardOfNode.size).toBe(NODES);
  });

  it("gives each shard an eighth of the devices, within ±25% (a property of the hash over 1,000 nodes)", () => {
    const devices = lists.map((ids) => ids.filter((id) => id.split("/").length === 4).length);
    const share = (NODES * DEVICES) / COUNT;
    for (const n of devices) {
      expect(n).toBeGreaterThanOrEqual(share * 0.75);
      expect(n).toBeLessThanOrEqual(share * 1.25);
    }
  });

  it("gives the same assignment after a restart, whatever order the births come in", () => {
    const reversed = [...nodes].reverse();
    expect(shardLists(plantBirths(reversed, DEVICES, T0 + 60_000))).toStrictEqual(lists);
  });
});

describe("the shard hash", () => {
  /**
   * Golden values, computed outside the project (`printf 'Plant1/Line1' | openssl dgst
   * -sha256`: 60a5039d…, 1621427101 % 8 = 5): a change of hash moves every plant's devices to
   * other Configurations, so it must fail here first.
   */
  const golden: [NodeName, number, number][] = [
    [["Plant1", "Line1"], 8, 5],
    [["Plant1", "Line2"], 8, 6],
    [["Fleet", "Line1"], 8, 7],
    [["Plant0", "Edge0000"], 8, 3],
    [["Plant3", "Edge0999"], 8, 0],
    [["Plant1", "Line1"], 3, 1],
    [["Plant0", "Edge0000"], 5, 2],
    [["Plant1", "Line1"], 1, 0],
  ];

  it.each(golden)(
    "puts %j in shard %i: %i (SHA-256, first 4 bytes big-endian, mod count)",
    (node, count, shard) => {
      const lists = shardLists(plantBirths([node], 1, T0), count);
      const [group, edge] = node;
      expect(lists.map((ids) => ids.length > 0)).toStrictEqual(
        Array.from({ length: count }, (_, i) => i === shard),
      );
      expect(lists[shard]).toStrictEqual([`spBv1.0/${group}/${edge}`, `spBv1.0/${group}/${edge}/Device00`]);
    },
  );

  it("explains an entity of another shard: in-another-shard, naming both shards", () => {
    const h = new EngineHarness(details(3), { start: T0 });
    for (const p of plantBirths([["Plant1", "Line1"]], 1, T0)) h.publish(p);
    h.settle();
    const reason = {
      code: "in-another-shard",
      message: "edge node Plant1/Line1 is in shard 5 of 8; this Configuration lists shard 3",
    };
    expect(h.lists.at(-1)!.unlisted()).toStrictEqual([
      { id: "spBv1.0/Plant1/Line1", kind: "sparkplug-node", status: "online", reason },
      { id: "spBv1.0/Plant1/Line1/Device00", kind: "sparkplug-device", status: "online", reason },
    ]);
  });

  it("says a FilterList left an entity out before it says which shard it is in", () => {
    const h = new EngineHarness(
      "serverUrls: [tcp://plant:1883]\nsparkplug: {groupIds: {action: Exclude, items: [Plant1]}, shard: {count: 8, index: 3}}",
      { start: T0 },
    );
    for (const p of plantBirths([["Plant1", "Line1"]], 1, T0)) h.publish(p);
    h.settle();
    expect(
      h.lists
        .at(-1)!
        .unlisted()
        .map((u) => u.reason.code),
    ).toStrictEqual(["excluded-by-filter", "excluded-by-filter"]);
  });
});
