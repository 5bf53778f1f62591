import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { encodePayload } from "../../../../src/sparkplug/encode.js";
import { HOST_PATHS, HostHarness, type HostPath } from "../../../support/host-harness.js";

/*
 * Edge node and device lifecycle as the host sees it: reference/sparkplug.md §3 B (items
 * 10-16) and the timestamps rule of D 23. Each test names the behaviour it proves.
 */

function plant(bdSeq = 1n): EdgeNodeEncoder {
  const edge = new EdgeNodeEncoder("Plant", "Line", bdSeq, [
    { name: "Temperature", alias: 1, datatype: DataType.Double, value: 20 },
  ]);
  edge.defineDevice("Motor", { metrics: [{ name: "Speed", alias: 10, datatype: DataType.Int32, value: 0 }] });
  edge.defineDevice("Pump", { metrics: [{ name: "Flow", alias: 20, datatype: DataType.Float, value: 0 }] });
  return edge;
}

describe.each(HOST_PATHS)("%s", (path: HostPath) => {
  describe("B10/B16 births (tck-id-topics-nbirth-metric-reqs, tck-id-payloads-dbirth-order)", () => {
    it("takes a node online at NBIRTH and its devices online at their DBIRTH", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      h.publish(edge.nbirth(h.now));
      expect(h.nodeStatus("Plant", "Line")).toBe("online");
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBeUndefined();
      h.publish(edge.dbirth("Motor", h.now));
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("online");
      expect(h.session.node("Plant", "Line")?.bdSeq).toBe(1n);
      expect(h.eventsOf("device-born")).toMatchObject([
        { group: "Plant", edge: "Line", device: "Motor", source: "live" },
      ]);
    });

    it("replaces the node's whole birth model on a new NBIRTH (metrics and aliases)", () => {
      const h = new HostHarness({ path });
      const first = new EdgeNodeEncoder("G", "E", 1n, [
        { name: "Old", alias: 1, datatype: DataType.Int32, value: 1 },
      ]);
      h.publish(first.nbirth(h.now));
      const second = new EdgeNodeEncoder("G", "E", 2n, [
        { name: "New", alias: 1, datatype: DataType.String, value: "x" },
      ]);
      h.publish(second.nbirth(h.now));
      const table = h.session.node("G", "E")?.birth?.metrics;
      expect(table?.has("Old")).toBe(false);
      expect(table?.resolve(1, undefined)).toMatchObject({ name: "New", datatype: DataType.String });
    });

    it("keeps devices of the previous session stale until their new DBIRTH, and drops those not reborn at the first DATA", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      for (const p of edge.births(h.now)) h.publish(p);
      h.publish(edge.nbirth(h.now));
      const motor = h.session.node("Plant", "Line")?.devices.get("Motor");
      expect(motor).toMatchObject({ status: "online", stale: true, awaitingBirth: true });
      h.publish(edge.dbirth("Motor", h.now));
      expect(motor).toMatchObject({ status: "online", stale: false, awaitingBirth: false });
      h.publish(edge.ndata({ Temperature: 21 }, h.now));
      expect(h.deviceStatus("Plant", "Line", "Pump")).toBe("offline");
      expect(h.eventsOf("device-died")).toMatchObject([{ device: "Pump", reason: "not-reborn" }]);
    });

    it("drops devices not reborn when the settle deadline passes without DATA", () => {
      const h = new HostHarness({ path, deviceRebirthSettleMs: 3000 });
      const edge = plant();
      for (const p of edge.births(h.now)) h.publish(p);
      h.publish(edge.nbirth(h.now));
      h.advance(2900);
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("online");
      h.advance(200);
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("offline");
    });

    it("reports a rebirth in the same session (same bdSeq) as reborn", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      h.publish(edge.nbirth(h.now));
      h.publish(edge.nbirth(h.now));
      expect(h.eventsOf("node-born").map((e) => e.reborn)).toStrictEqual([false, true]);
    });

    it("accepts a DBIRTH long after its NBIRTH (a device added later)", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      h.publish(edge.nbirth(h.now));
      h.publish(edge.ndata({ Temperature: 1 }, h.now));
      h.publish(edge.dbirth("Motor", h.now), { after: 3_600_000 });
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("online");
    });

    it("lets a device die and be born again within one node session", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      for (const p of edge.births(h.now)) h.publish(p);
      h.publish(edge.ddeath("Pump", h.now));
      expect(h.deviceStatus("Plant", "Line", "Pump")).toBe("offline");
      h.publish(edge.dbirth("Pump", h.now));
      expect(h.deviceStatus("Plant", "Line", "Pump")).toBe("online");
    });

    it("does not take a device online from a DBIRTH whose node was never born, and asks for a rebirth", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      edge.nbirth(h.now); // published while we were not listening
      h.publish(edge.dbirth("Motor", h.now));
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("unknown");
      expect(h.rebirthCommands()).toHaveLength(1);
    });
  });

  describe("B11/B12 bdSeq in births and deaths (tck-id-payloads-nbirth-bdseq, tck-id-payloads-ndeath-seq)", () => {
    it("records the NBIRTH's bdSeq as the session's, and warns when a birth has none", () => {
      const h = new HostHarness({ path });
      h.publish(plant(42n).nbirth(h.now));
      expect(h.session.node("Plant", "Line")?.bdSeq).toBe(42n);
      h.deliver({
        topic: "spBv1.0/Plant/NBIRTH/Other",
        payload: encodePayload({
          timestamp: 1,
          seq: 0,
          metrics: [{ name: "Node Control/Rebirth", datatype: DataType.Boolean, value: false }],
        }),
        qos: 0,
        retain: false,
      });
      expect(h.session.node("Plant", "Other")?.bdSeq).toBeUndefined();
      expect(h.eventsOf("protocol-warning").map((e) => e.message)).toContain(
        "NBIRTH has no bdSeq metric: its NDEATH cannot be matched",
      );
    });

    it("reads a bdSeq typed UInt64 (as Tahu's JavaScript client sends it) like an Int64", () => {
      const h = new HostHarness({ path });
      h.deliver({
        topic: "spBv1.0/G/NBIRTH/E",
        payload: encodePayload({
          timestamp: 1,
          seq: 0,
          metrics: [{ name: "bdSeq", datatype: DataType.UInt64, value: 3n }],
        }),
        qos: 0,
        retain: false,
      });
      expect(h.session.node("G", "E")?.bdSeq).toBe(3n);
    });

    it("warns about an NDEATH that carries a seq, and still matches it by bdSeq", () => {
      const h = new HostHarness({ path });
      h.publish(plant(1n).nbirth(h.now));
      h.deliver({
        topic: "spBv1.0/Plant/NDEATH/Line",
        payload: encodePayload({
          timestamp: 1,
          seq: 4,
          metrics: [{ name: "bdSeq", datatype: DataType.Int64, value: 1n }],
        }),
        qos: 1,
        retain: false,
      });
      expect(h.eventsOf("protocol-warning").map((e) => e.message)).toContain("NDEATH must not carry a seq");
      expect(h.nodeStatus("Plant", "Line")).toBe("offline");
    });
  });

  describe("B13 matching an NDEATH to the NBIRTH of the current session", () => {
    it("ignores an NDEATH whose bdSeq belongs to an older session", () => {
      const h = new HostHarness({ path });
      const old = plant(4n);
      for (const p of old.births(h.now)) h.publish(p);
      const current = plant(5n);
      for (const p of current.births(h.now)) h.publish(p);
      h.publish(old.ndeath(h.now));
      expect(h.nodeStatus("Plant", "Line")).toBe("online");
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBe("online");
      expect(h.eventsOf("stale-death-ignored")).toMatchObject([{ bdSeq: "4", sessionBdSeq: "5" }]);
    });

    it("ignores the broker's Will that follows the node's own NDEATH of the same session", () => {
      const h = new HostHarness({ path });
      const edge = plant(2n);
      h.publish(edge.nbirth(h.now));
      h.publish(edge.ndeath(h.now));
      h.publish(edge.ndeath(h.now));
      expect(h.eventsOf("node-died")).toHaveLength(1);
      expect(h.eventsOf("stale-death-ignored")).toMatchObject([{ reason: "the node is already offline" }]);
    });

    it("ignores an NDEATH from a node never born", () => {
      const h = new HostHarness({ path });
      h.publish(plant().ndeath(h.now));
      expect(h.eventsOf("stale-death-ignored")).toMatchObject([
        { reason: "no NBIRTH of this node has been seen" },
      ]);
      expect(h.eventsOf("node-died")).toHaveLength(0);
    });

    it("honours an NDEATH without bdSeq for an online node, with a warning", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      h.publish(edge.nbirth(h.now));
      h.deliver({
        topic: "spBv1.0/Plant/NDEATH/Line",
        payload: encodePayload({ timestamp: 0 }),
        qos: 1,
        retain: false,
      });
      expect(h.nodeStatus("Plant", "Line")).toBe("offline");
      expect(h.eventsOf("protocol-warning")[0]?.message).toContain("NDEATH has no bdSeq metric");
    });

    it("never uses the NDEATH timestamp to decide (it is fixed at connect time)", () => {
      const h = new HostHarness({ path });
      const edge = plant(3n);
      h.publish(edge.nbirth(h.now));
      h.publish(edge.ndeath(h.now - 86_400_000));
      expect(h.nodeStatus("Plant", "Line")).toBe("offline");
    });
  });

  describe("B14/B15 and D23 deaths (tck-id-operational-behavior-edge-node-termination-host-action-*)", () => {
    it("takes the node and all its devices offline at the host's receive time on a valid NDEATH", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      for (const p of edge.births(h.now)) h.publish(p);
      h.publish(edge.ndeath(1_000), { after: 500 });
      const node = h.session.node("Plant", "Line")!;
      expect(node).toMatchObject({ status: "offline", stale: true, diedAt: h.now });
      for (const device of node.devices.values())
        expect(device).toMatchObject({ status: "offline", stale: true, diedAt: h.now });
      expect(
        h
          .eventsOf("device-died")
          .map((e) => e.device)
          .sort(),
      ).toStrictEqual(["Motor", "Pump"]);
    });

    it("takes a device offline at the DDEATH's own payload timestamp", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      for (const p of edge.births(h.now)) h.publish(p);
      const deathTime = h.now - 1234;
      h.publish(edge.ddeath("Motor", deathTime));
      expect(h.session.node("Plant", "Line")?.devices.get("Motor")).toMatchObject({
        status: "offline",
        stale: true,
        diedAt: deathTime,
      });
      expect(h.eventsOf("device-died")).toMatchObject([{ device: "Motor", reason: "ddeath", at: deathTime }]);
      expect(h.deviceStatus("Plant", "Line", "Pump")).toBe("online");
    });
  });

  describe("H retained and command messages", () => {
    it("treats a retained NBIRTH as a birth of unknown age: tables, not liveness", () => {
      const h = new HostHarness({ path });
      h.publish(plant(9n).nbirth(h.now), { retain: true });
      expect(h.nodeStatus("Plant", "Line")).toBe("unknown");
      expect(h.session.node("Plant", "Line")?.birth?.source).toBe("retained");
      expect(h.eventsOf("retained-message")).toHaveLength(1);
    });

    it("ignores NCMD and DCMD for liveness", () => {
      const h = new HostHarness({ path });
      const edge = plant();
      h.publish(edge.nbirth(h.now));
      h.deliver({
        topic: "spBv1.0/Plant/DCMD/Line/Motor",
        payload: encodePayload({ timestamp: 1 }),
        qos: 0,
        retain: false,
      });
      expect(h.deviceStatus("Plant", "Line", "Motor")).toBeUndefined();
      expect(h.nodeStatus("Plant", "Line")).toBe("online");
    });
  });
});
