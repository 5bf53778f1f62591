import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { EngineHarness } from "../../../support/engine-harness.js";

/* Which Sparkplug entities become Akri devices, with which ids and properties (design.md §5). */

function edge(group: string, edgeId: string, make = "Acme", bdSeq = 1n): EdgeNodeEncoder {
  const e = new EdgeNodeEncoder(group, edgeId, bdSeq, [
    { name: "Properties/Hardware Make", datatype: DataType.String, value: make },
  ]);
  e.defineDevice("Motor", {
    metrics: [
      { name: "Speed", alias: 1, datatype: DataType.Double, value: 0 },
      { name: "Properties/Hardware Model", alias: 2, datatype: DataType.String, value: "M-9" },
      { name: "Properties/Rating", alias: 3, datatype: DataType.UInt64, value: 18446744073709551615n },
    ],
  });
  e.defineDevice("Sensor", { metrics: [{ name: "Level", alias: 4, datatype: DataType.Int32, value: 0 }] });
  return e;
}

const base = "serverUrls: [tcp://broker-a:1883, tcp://broker-b:1883]\n";

describe("Sparkplug devices as Akri devices", () => {
  it("lists born devices with the ids and properties of design.md §5", () => {
    const h = new EngineHarness(base);
    for (const p of edge("plant1", "line1").births(h.now)) h.publish(p);
    h.settle();
    expect(h.lists.at(-1)?.devices).toStrictEqual([
      {
        id: "spBv1.0/plant1/line1/Motor",
        kind: "sparkplug-device",
        properties: {
          MQTT_BROKER_URI: "tcp://broker-a:1883,tcp://broker-b:1883",
          SPARKPLUG_GROUP_ID: "plant1",
          SPARKPLUG_EDGE_NODE_ID: "line1",
          SPARKPLUG_DEVICE_ID: "Motor",
          SPARKPLUG_DATA_TOPIC: "spBv1.0/plant1/DDATA/line1/Motor",
        },
      },
      {
        id: "spBv1.0/plant1/line1/Sensor",
        kind: "sparkplug-device",
        properties: {
          MQTT_BROKER_URI: "tcp://broker-a:1883,tcp://broker-b:1883",
          SPARKPLUG_GROUP_ID: "plant1",
          SPARKPLUG_EDGE_NODE_ID: "line1",
          SPARKPLUG_DEVICE_ID: "Sensor",
          SPARKPLUG_DATA_TOPIC: "spBv1.0/plant1/DDATA/line1/Sensor",
        },
      },
    ]);
  });

  it("gives each entity's facts camelCase names, times in ISO 8601 and counts and bdSeq as numbers", () => {
    const h = new EngineHarness(`${base}sparkplug: {discover: both}`);
    // The harness delivers each publish 10 ms after the one before: NBIRTH, then Motor's DBIRTH.
    const at = (ms: number) => new Date(h.now + ms).toISOString();
    const [nodeBornAt, bornAt] = [at(10), at(20)];
    for (const p of edge("g", "e").births(h.now)) h.publish(p);
    h.settle();
    const sent = h.lists.at(-1)!;
    expect(sent.factsOf("spBv1.0/g/e/Motor")).toStrictEqual({
      bornAt,
      nodeBornAt,
      bdSeq: 1,
      seqGaps: 0,
      rebirthRequests: 0,
    });
    // An edge node has no birth of its own beyond its node's.
    expect(sent.factsOf("spBv1.0/g/e")).not.toHaveProperty("bornAt");
  });

  it("gives a bdSeq too large for a JSON number as its exact digits", () => {
    const h = new EngineHarness(base);
    for (const p of edge("g", "e", "Acme", 2n ** 60n + 1n).births(h.now)) h.publish(p);
    h.settle();
    expect(h.lists.at(-1)!.factsOf("spBv1.0/g/e/Motor")).toHaveProperty("bdSeq", "1152921504606846977");
  });

  it("lists edge nodes with discover: nodes, and both with discover: both", () => {
    const nodes = new EngineHarness(`${base}sparkplug: {discover: nodes}`);
    for (const p of edge("g", "e").births(nodes.now)) nodes.publish(p);
    nodes.settle();
    expect(nodes.lists.at(-1)?.devices).toMatchObject([
      {
        id: "spBv1.0/g/e",
        kind: "sparkplug-node",
        properties: {
          SPARKPLUG_GROUP_ID: "g",
          SPARKPLUG_EDGE_NODE_ID: "e",
          SPARKPLUG_DATA_TOPIC: "spBv1.0/g/NDATA/e",
        },
      },
    ]);
    expect(nodes.lists.at(-1)?.devices[0]?.properties.SPARKPLUG_DEVICE_ID).toBeUndefined();
    const both = new EngineHarness(`${base}sparkplug: {discover: both}`);
    for (const p of edge("g", "e").births(both.now)) both.publish(p);
    both.settle();
    expect(both.ids()).toStrictEqual(["spBv1.0/g/e", "spBv1.0/g/e/Motor", "spBv1.0/g/e/Sensor"]);
  });

  it("applies group, edge node and device FilterLists", () => {
    const h = new EngineHarness(`${base}sparkplug:
  groupIds: {action: Include, items: [plant1]}
  edgeNodeIds: {action: Exclude, items: [test-node]}
  deviceIds: {action: Exclude, items: [Sensor]}`);
    for (const e of [edge("plant1", "line1"), edge("plant1", "test-node"), edge("plant2", "line1")]) {
      for (const p of e.births(h.now)) h.publish(p);
    }
    h.settle();
    expect(h.ids()).toStrictEqual(["spBv1.0/plant1/line1/Motor"]);
  });

  it("selects by birth metrics, on the device's birth or its node's", () => {
    const h = new EngineHarness(`${base}sparkplug:
  birthMetrics:
    - {name: Properties/Hardware Make, equals: Acme}
    - {name: Speed}`);
    for (const e of [edge("g", "acme"), edge("g", "other", "Other")])
      for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    expect(h.ids()).toStrictEqual(["spBv1.0/g/acme/Motor"]);
  });

  it("maps birth metric values into properties (64-bit exactly), leaving out absent ones", () => {
    const h = new EngineHarness(`${base}sparkplug:
  properties:
    HARDWARE_MODEL: Properties/Hardware Model
    HARDWARE_MAKE: Properties/Hardware Make
    RATING: Properties/Rating`);
    for (const p of edge("g", "e").births(h.now)) h.publish(p);
    h.settle();
    const [motor, sensor] = h.lists.at(-1)!.devices;
    expect(motor?.properties).toMatchObject({
      HARDWARE_MODEL: "M-9",
      HARDWARE_MAKE: "Acme",
      RATING: "18446744073709551615",
    });
    expect(sensor?.properties.HARDWARE_MODEL).toBeUndefined();
    expect(sensor?.properties.HARDWARE_MAKE).toBe("Acme");
  });

  it("makes mapped values part of the id, so a rebirth that changes one lists a new id (a new Instance) instead of changing a listed device's properties", () => {
    const details = `${base}offlineGraceSeconds: 30\nsparkplug:\n  discover: both\n  properties: {HARDWARE_MAKE: Properties/Hardware Make}`;
    const h = new EngineHarness(details);
    for (const p of edge("g", "e", "Acme", 1n).births(h.now)) h.publish(p);
    h.settle();
    const before = h.lists.at(-1)!;
    const ids = before.devices.map((d) => d.id);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(id).toMatch(/^spBv1\.0\/g\/e(\/Motor|\/Sensor)?#[0-9a-f]{8}$/);
    // The suffix is the mapped values': the node and its devices share it here.
    expect(new Set(ids.map((id) => id.split("#")[1])).size).toBe(1);
    for (const id of ids) {
      expect(before.statusOf(id)).toBe("online");
      expect(before.brokerOf(id)).toBe("tcp://broker-a:1883,tcp://broker-b:1883");
      expect(before.factsOf(id)).toHaveProperty("bdSeq", 1);
    }
    // A rebirth with another make: new ids, and the old ones leave at once (not after the
    // grace period: the entity is alive, it is the identity that changed).
    for (const p of edge("g", "e", "Other", 2n).births(h.now)) h.publish(p);
    h.settle();
    const after = h.lists.at(-1)!;
    expect(after.devices.map((d) => d.properties.HARDWARE_MAKE)).toStrictEqual(["Other", "Other", "Other"]);
    expect(after.devices.map((d) => d.id).filter((id) => ids.includes(id))).toStrictEqual([]);
    expect(after.devices.map((d) => d.id.split("#")[0])).toStrictEqual(ids.map((id) => id.split("#")[0]));
    // A handler that starts after the change (or replays only the new birth) lists the same ids.
    const late = new EngineHarness(details);
    for (const p of edge("g", "e", "Other", 2n).births(late.now)) late.publish(p);
    late.settle();
    expect(late.lists.at(-1)!.devices).toStrictEqual(after.devices);
    // Back to the first make: the first ids again, the same on every node.
    for (const p of edge("g", "e", "Acme", 3n).births(h.now)) h.publish(p);
    h.settle();
    expect(h.ids()).toStrictEqual(ids);
  });

  it("leaves ids as they are without property mappings", () => {
    const h = new EngineHarness(`${base}sparkplug: {birthMetrics: [{name: Properties/Hardware Make}]}`);
    for (const p of edge("g", "e").births(h.now)) h.publish(p);
    h.settle();
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Motor", "spBv1.0/g/e/Sensor"]);
  });

  it("drops a device at its DDEATH and all of a node's at a valid NDEATH, but not at a stale one", () => {
    const h = new EngineHarness(base);
    const old = edge("g", "e", "Acme", 1n);
    for (const p of old.births(h.now)) h.publish(p);
    const current = edge("g", "e", "Acme", 2n);
    for (const p of current.births(h.now)) h.publish(p);
    h.settle();
    expect(h.ids()).toHaveLength(2);
    h.publish(old.ndeath(h.now));
    h.settle();
    expect(h.ids()).toHaveLength(2);
    h.publish(current.ddeath("Sensor", h.now));
    h.settle();
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Motor"]);
    h.publish(current.ndeath(h.now));
    h.settle();
    expect(h.ids()).toStrictEqual([]);
  });

  it("keeps a dead device listed for offlineGraceSeconds, then drops it", () => {
    const h = new EngineHarness(`${base}offlineGraceSeconds: 30`);
    const e = edge("g", "e");
    for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    h.publish(e.ddeath("Motor", h.now));
    h.advance(29_000);
    expect(h.ids()).toContain("spBv1.0/g/e/Motor");
    h.advance(2_000);
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Sensor"]);
  });

  it("times each dead device's grace from its own death, and lists it again when reborn", () => {
    const h = new EngineHarness(`${base}offlineGraceSeconds: 30`);
    const e = edge("g", "e");
    for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    h.publish(e.ddeath("Motor", h.now));
    h.advance(20_000);
    h.publish(e.ddeath("Sensor", h.now));
    h.advance(11_000);
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Sensor"]);
    h.advance(18_000);
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Sensor"]);
    h.advance(2_000);
    expect(h.ids()).toStrictEqual([]);
    h.publish(e.dbirth("Motor", h.now));
    h.settle();
    expect(h.ids()).toStrictEqual(["spBv1.0/g/e/Motor"]);
  });

  it("brings a device back within the grace period without a list change", () => {
    const h = new EngineHarness(`${base}offlineGraceSeconds: 30`);
    const e = edge("g", "e");
    for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    const sent = h.lists.length;
    h.publish(e.ddeath("Motor", h.now));
    h.publish(e.dbirth("Motor", h.now), 5000);
    h.advance(60_000);
    expect(h.lists.length).toBe(sent);
  });

  it("keeps the list through a broker outage and sends nothing new", () => {
    const h = new EngineHarness(base);
    const e = edge("g", "e");
    for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    const sent = h.lists.length;
    h.input({ kind: "offline", broker: "b" });
    h.advance(600_000);
    expect(h.lists.length).toBe(sent);
    const { discoverer } = h.engine;
    expect(discoverer.list().map((d) => discoverer.statusOf(d.id))).toStrictEqual(["stale", "stale"]);
  });

  it("reads each entity's status from the host model: stale after a reconnect, online again once it speaks", () => {
    const h = new EngineHarness(`${base}sparkplug: {discover: nodes}`);
    const e = edge("g", "e");
    for (const p of e.births(h.now)) h.publish(p);
    h.settle();
    const { discoverer } = h.engine;
    h.input({ kind: "offline", broker: "b" });
    h.input({ kind: "online", broker: "b", willTimestamp: h.now }, 1000);
    expect(discoverer.statusOf("spBv1.0/g/e")).toBe("stale");
    // NDATA proves the node alive without a birth: no lifecycle event, and still online at once.
    h.publish(e.ndata({}, h.now));
    expect(discoverer.statusOf("spBv1.0/g/e")).toBe("online");
  });
});
