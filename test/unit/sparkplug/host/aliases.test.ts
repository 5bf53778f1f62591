import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { decodePayload } from "../../../../src/sparkplug/decode.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { encodePayload } from "../../../../src/sparkplug/encode.js";
import { HostHarness } from "../../../support/host-harness.js";

/* Aliases, names, datatypes and values: reference/sparkplug.md §3 D (items 20-24). */

function edgeNode(): EdgeNodeEncoder {
  const edge = new EdgeNodeEncoder("G", "E", 0n, [
    { name: "Level", alias: 1, datatype: DataType.Int8, value: 0 },
    { name: "Serial", datatype: DataType.String, value: "S-1" },
  ]);
  edge.defineDevice("D", { metrics: [{ name: "Counter", alias: 7, datatype: DataType.UInt64, value: 0n }] });
  return edge;
}

describe("D20/D22 alias tables from the birth (tck-id-payloads-alias-*)", () => {
  it("decodes alias-only, datatype-less DATA with the birth's names and datatypes", () => {
    // Values are decoded where they are shown.
    const h = new HostHarness({ profile: "inspect" });
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    const step = h.publish(edge.ddata("D", { Counter: 18446744073709551615n }, h.now));
    expect(step.processed[0]?.payload?.metrics[0]).toMatchObject({
      name: "Counter",
      datatype: DataType.UInt64,
      datatypeSource: "birth",
      value: 18446744073709551615n,
    });
    expect(h.eventsOf("unknown-metric")).toHaveLength(0);
  });

  it("resolves an alias in the scope of its own device", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    // alias 1 is the node's Level; on the device it is unknown.
    h.deliver({
      topic: "spBv1.0/G/DDATA/E/D",
      payload: encodePayload({
        timestamp: 1,
        seq: 2,
        metrics: [{ alias: 1, datatype: DataType.Int8, omitDatatype: true, value: 1 }],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("unknown-metric")).toMatchObject([{ device: "D", alias: "1" }]);
  });

  it("asks for a rebirth when DATA names an alias the birth did not define", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    h.publish(edge.nbirth(h.now));
    h.deliver({
      topic: "spBv1.0/G/NDATA/E",
      payload: encodePayload({
        timestamp: 1,
        seq: 1,
        metrics: [{ alias: 99, datatype: DataType.Int32, omitDatatype: true, value: 1 }],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("unknown-metric")).toMatchObject([{ alias: "99" }]);
    expect(h.eventsOf("rebirth-requested")).toMatchObject([{ reason: "unknown-metric" }]);
  });

  it("flags a metric that carries its own datatype but is not in the birth", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    h.publish(edge.nbirth(h.now));
    h.deliver({
      topic: "spBv1.0/G/NDATA/E",
      payload: encodePayload({
        timestamp: 1,
        seq: 1,
        metrics: [{ name: "Surprise", datatype: DataType.Int32, value: 1 }],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("unknown-metric")).toMatchObject([{ name: "Surprise" }]);
  });

  it("does not ask when onUnknownMetric is off", () => {
    const h = new HostHarness({ rebirth: { onUnknownMetric: false } });
    h.publish(edgeNode().nbirth(h.now));
    h.deliver({
      topic: "spBv1.0/G/NDATA/E",
      payload: encodePayload({
        timestamp: 1,
        seq: 1,
        metrics: [{ alias: 99, datatype: DataType.Int32, omitDatatype: true, value: 1 }],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("unknown-metric")).toHaveLength(1);
    expect(h.rebirthCommands()).toHaveLength(0);
  });

  it("reports an alias that a birth gives to two metrics", () => {
    const h = new HostHarness();
    h.deliver({
      topic: "spBv1.0/G/NBIRTH/E",
      payload: encodePayload({
        timestamp: 1,
        seq: 0,
        metrics: [
          { name: "bdSeq", datatype: DataType.Int64, value: 0n },
          { name: "A", alias: 5, datatype: DataType.Int32, value: 1 },
          { name: "B", alias: 5, datatype: DataType.Int32, value: 2 },
        ],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("duplicate-alias")).toMatchObject([{ alias: "5" }]);
  });

  it("decodes name-only DATA (no aliases in use) by name", () => {
    // Values are decoded where they are shown.
    const h = new HostHarness({ profile: "inspect" });
    const edge = edgeNode();
    h.publish(edge.nbirth(h.now));
    const step = h.publish(edge.ndata({ Serial: "S-2" }, h.now));
    expect(step.processed[0]?.payload?.metrics[0]).toMatchObject({
      name: "Serial",
      datatype: DataType.String,
      value: "S-2",
    });
  });
});

describe("D21/E26 Node Control/Rebirth", () => {
  it("warns about an NBIRTH without Node Control/Rebirth", () => {
    const h = new HostHarness();
    h.deliver({
      topic: "spBv1.0/G/NBIRTH/E",
      payload: encodePayload({
        timestamp: 1,
        seq: 0,
        metrics: [{ name: "bdSeq", datatype: DataType.Int64, value: 0n }],
      }),
      qos: 0,
      retain: false,
    });
    expect(h.eventsOf("protocol-warning").map((e) => e.message)).toContain(
      'NBIRTH has no "Node Control/Rebirth" metric',
    );
  });

  it("asks with an NCMD: Node Control/Rebirth = true as Boolean, a payload timestamp, no seq, QoS 0, not retained", () => {
    const h = new HostHarness();
    h.deliver({
      topic: "spBv1.0/G/NDATA/E",
      payload: encodePayload({ timestamp: 1, seq: 7, metrics: [] }),
      qos: 0,
      retain: false,
    });
    const [command] = h.rebirthCommands();
    expect(command).toMatchObject({ topic: "spBv1.0/G/NCMD/E", qos: 0, retain: false, purpose: "rebirth" });
    const decoded = decodePayload(command!.payload);
    expect(decoded.ok && decoded.payload).toMatchObject({
      timestamp: h.now,
      seq: undefined,
      metrics: [{ name: "Node Control/Rebirth", datatype: DataType.Boolean, value: true, alias: undefined }],
    });
  });
});

describe("D24 current values (when the host tracks values)", () => {
  it("takes the last non-historical occurrence as the current value, never a historical one", () => {
    const h = new HostHarness({ profile: "monitor" });
    const edge = edgeNode();
    h.publish(edge.nbirth(h.now));
    h.deliver({
      topic: "spBv1.0/G/NDATA/E",
      payload: encodePayload({
        timestamp: 100,
        seq: 1,
        metrics: [
          { alias: 1, datatype: DataType.Int8, omitDatatype: true, value: 5, timestamp: 10 },
          { alias: 1, datatype: DataType.Int8, omitDatatype: true, value: 6, timestamp: 20 },
          {
            alias: 1,
            datatype: DataType.Int8,
            omitDatatype: true,
            value: -9,
            timestamp: 5,
            isHistorical: true,
          },
        ],
      }),
      qos: 0,
      retain: false,
    });
    const metrics = h.session.node("G", "E")?.birth?.metrics;
    expect([metrics?.valueOf("Level"), metrics?.timestampOf("Level")]).toStrictEqual([6, 20]);
  });

  it("keeps birth values without tracking when the host does not track values", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    h.publish(edge.nbirth(h.now));
    h.publish(edge.ndata({ Level: 3 }, h.now));
    expect(h.session.node("G", "E")?.birth?.metrics.valueOf("Level")).toBe(0);
  });
});
