import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { HOST_PATHS, HostHarness, type HostPath } from "../../../support/host-harness.js";

/* Sequence numbers and reordering: reference/sparkplug.md §3 C (items 17-19). */

function edgeNode(): EdgeNodeEncoder {
  const edge = new EdgeNodeEncoder("G", "E", 0n, [
    { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
  ]);
  edge.defineDevice("A", { metrics: [{ name: "X", alias: 10, datatype: DataType.Int32, value: 0 }] });
  edge.defineDevice("B", { metrics: [{ name: "Y", alias: 20, datatype: DataType.Int32, value: 0 }] });
  return edge;
}

describe.each(HOST_PATHS)("%s", (path: HostPath) => {
  describe("C17/C18 one seq counter per edge node", () => {
    it("accepts any NBIRTH seq as the base (3.0 says 0-255, not only 0)", () => {
      const h = new HostHarness({ path });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now, 200));
      h.publish(edge.ndata({ T: 1 }, h.now));
      expect(h.eventsOf("seq-gap")).toHaveLength(0);
    });

    it("wraps from 255 to 0 without a gap", () => {
      const h = new HostHarness({ path });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now, 254));
      for (let i = 0; i < 4; i++) h.publish(edge.ndata({ T: i }, h.now));
      expect(h.eventsOf("seq-gap")).toHaveLength(0);
      expect(edge.nextSeq).toBe(3);
    });

    it("counts DBIRTH, DDATA and DDEATH of every device in the node's one sequence (no false gaps)", () => {
      const h = new HostHarness({ path });
      const edge = edgeNode();
      for (const p of edge.births(h.now)) h.publish(p);
      h.publish(edge.ddata("A", { X: 1 }, h.now));
      h.publish(edge.ddata("B", { Y: 1 }, h.now));
      h.publish(edge.ddeath("B", h.now));
      h.publish(edge.ndata({ T: 2 }, h.now));
      h.publish(edge.dbirth("B", h.now));
      expect(h.eventsOf("seq-gap")).toHaveLength(0);
      expect(h.rebirthCommands()).toHaveLength(0);
    });
  });

  describe("C19 reorder timeout (tck-id-operational-behavior-host-reordering-*)", () => {
    it("holds an out-of-order message and processes both in order when the missing one arrives in time", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 1000 } });
      const edge = edgeNode();
      for (const p of edge.births(h.now)) h.publish(p);
      const late = edge.ddeath("A", h.now);
      const early = edge.dbirth("A", h.now);
      const step = h.publish(early);
      expect(h.eventsOf("seq-gap")).toMatchObject([{ expected: 3, received: 4 }]);
      expect(step.processed).toHaveLength(0);
      const healing = h.publish(late, { after: 400 });
      // DDEATH (3) first, then the held DBIRTH (4): the device ends up online.
      expect(healing.processed.map((p) => p.message.topic)).toStrictEqual([
        "spBv1.0/G/DDEATH/E/A",
        "spBv1.0/G/DBIRTH/E/A",
      ]);
      expect(healing.processed[1]?.heldMs).toBe(400);
      expect(h.deviceStatus("G", "E", "A")).toBe("online");
      expect(h.eventsOf("reorder-healed")).toMatchObject([{ seq: 3, waitedMs: 400 }]);
      h.advance(5000);
      expect(h.rebirthCommands()).toHaveLength(0);
    });

    it("asks for a rebirth when the gap is not filled before the timeout, processing what it held", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 1000 } });
      const edge = edgeNode();
      for (const p of edge.births(h.now)) h.publish(p);
      edge.ndata({ T: 5 }, h.now); // lost
      h.publish(edge.ndata({ T: 6 }, h.now));
      h.advance(999);
      expect(h.rebirthCommands()).toHaveLength(0);
      h.advance(1);
      expect(h.eventsOf("reorder-expired")).toMatchObject([{ missing: [3] }]);
      expect(h.rebirthCommands()).toMatchObject([{ topic: "spBv1.0/G/NCMD/E" }]);
      expect(h.eventsOf("rebirth-requested")).toMatchObject([{ reason: "seq-gap" }]);
    });

    it("a birth of 250 devices with one DBIRTH lost: the other 249 are born, the gap is given up at once, a rebirth asked", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 2000 } });
      const edge = new EdgeNodeEncoder("G", "Big", 0n, []);
      for (let d = 0; d < 250; d++)
        edge.defineDevice(`D${d}`, {
          metrics: [{ name: "X", alias: 1, datatype: DataType.Int32, value: d }],
        });
      const births = edge.births(h.now);
      // DBIRTH of D10 (seq 11) never arrives; 128 messages later the window is full.
      for (const p of births) if (!p.topic.endsWith("/D10")) h.publish(p, { after: 1 });
      expect(h.eventsOf("seq-duplicate")).toHaveLength(0);
      expect(h.eventsOf("reorder-expired")).toMatchObject([{ missing: [11] }]);
      expect(h.eventsOf("device-born")).toHaveLength(249);
      h.advance(1000);
      expect(h.eventsOf("rebirth-requested")).toMatchObject([{ reason: "seq-gap" }]);
    });

    it("a late message that fills part of the gap does not make the rest of a big birth look like duplicates", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 2000 } });
      const edge = new EdgeNodeEncoder("G", "Big", 0n, []);
      for (let d = 0; d < 200; d++)
        edge.defineDevice(`D${d}`, {
          metrics: [{ name: "X", alias: 1, datatype: DataType.Int32, value: d }],
        });
      const births = edge.births(h.now);
      // seq 5 and 6 are late: 7..132 are held (the window is full); then 6 arrives (still a
      // gap at 5), then 133.. which carries on from the front of the held run.
      const late = births.slice(5, 7);
      for (const p of births.slice(0, 5)) h.publish(p, { after: 1 });
      for (const p of births.slice(7, 133)) h.publish(p, { after: 1 });
      h.publish(late[1]!, { after: 1 });
      for (const p of births.slice(133)) h.publish(p, { after: 1 });
      expect(h.eventsOf("seq-duplicate")).toHaveLength(0);
      expect(h.eventsOf("device-born")).toHaveLength(199);
    });

    it("with a zero reorder timeout acts on a gap at once", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 0 } });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now));
      edge.ndata({ T: 1 }, h.now);
      h.publish(edge.ndata({ T: 2 }, h.now));
      expect(h.rebirthCommands()).toHaveLength(1);
    });

    it("drops a duplicate seq", () => {
      const h = new HostHarness({ path });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now));
      const data = edge.ndata({ T: 1 }, h.now);
      h.publish(data);
      h.publish(data);
      expect(h.eventsOf("seq-duplicate")).toMatchObject([{ seq: 1 }]);
    });

    it("starts over at a new NBIRTH, forgetting a pending gap", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 1000 } });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now));
      edge.ndata({ T: 1 }, h.now);
      h.publish(edge.ndata({ T: 2 }, h.now));
      h.publish(edge.nbirth(h.now));
      h.publish(edge.ndata({ T: 3 }, h.now));
      h.advance(5000);
      expect(h.eventsOf("reorder-expired")).toHaveLength(0);
      expect(h.rebirthCommands()).toHaveLength(0);
    });

    it("does not ask for a rebirth on a gap when onSeqGap is off", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 100, onSeqGap: false } });
      const edge = edgeNode();
      h.publish(edge.nbirth(h.now));
      edge.ndata({ T: 1 }, h.now);
      h.publish(edge.ndata({ T: 2 }, h.now));
      h.advance(1000);
      expect(h.eventsOf("reorder-expired")).toHaveLength(1);
      expect(h.rebirthCommands()).toHaveLength(0);
    });
  });

  describe("deadlines of many nodes", () => {
    it("expires each node's gap at its own timeout, one after the other, before a later deadline set earlier", () => {
      const h = new HostHarness({ path, rebirth: { reorderTimeoutMs: 1000 } });
      // A node reborn with devices whose DBIRTHs have not come yet: its settle deadline is 5 s out.
      const reborn = edgeNode();
      for (const p of reborn.births(h.now)) h.publish(p);
      h.publish(reborn.nbirth(h.now));
      const nodes = ["E1", "E2", "E3"].map((id) => {
        const edge = new EdgeNodeEncoder("G", id, 0n, [
          { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
        ]);
        h.publish(edge.nbirth(h.now));
        return edge;
      });
      for (const [i, edge] of nodes.entries()) {
        edge.ndata({ T: 1 }, h.now); // lost
        h.publish(edge.ndata({ T: 2 }, h.now), { after: i === 0 ? 10 : 300 });
      }
      expect(h.eventsOf("seq-gap")).toHaveLength(3);
      const expired = () => h.eventsOf("reorder-expired").map((e) => e.edge);
      h.advance(1000 - 600 - 20);
      expect(expired()).toStrictEqual([]);
      h.advance(40);
      expect(expired()).toStrictEqual(["E1"]);
      h.advance(300);
      expect(expired()).toStrictEqual(["E1", "E2"]);
      h.advance(300);
      expect(expired()).toStrictEqual(["E1", "E2", "E3"]);
      expect(h.rebirthCommands().map((c) => c.topic)).toStrictEqual([
        "spBv1.0/G/NCMD/E1",
        "spBv1.0/G/NCMD/E2",
        "spBv1.0/G/NCMD/E3",
      ]);
      expect(h.eventsOf("device-died")).toHaveLength(0);
      h.advance(5000);
      expect(h.eventsOf("device-died").map((e) => e.device)).toStrictEqual(["A", "B"]);
    });
  });
});
