import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { rebirthRequestPayload } from "../../../../src/sparkplug/host/timers.js";
import { HostHarness } from "../../../support/host-harness.js";

/*
 * Cold start from a Sparkplug-aware broker's $sparkplug/certificates/# and the loss of our
 * own broker connection (issue 3 items 6 and 7; reference/sparkplug.md §1.5, §3 A9).
 */

function edgeNode(bdSeq = 3n): EdgeNodeEncoder {
  const edge = new EdgeNodeEncoder("G", "E", bdSeq, [
    { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
  ]);
  edge.defineDevice("D", { metrics: [{ name: "X", alias: 10, datatype: DataType.Int32, value: 0 }] });
  return edge;
}

const certificate = (p: { topic: string; payload: Uint8Array }) => ({
  topic: `$sparkplug/certificates/${p.topic}`,
  payload: p.payload,
  qos: 1 as const,
  retain: true,
});

describe("cold start from certificates", () => {
  it("learns the birth tables without calling the node alive", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    const [nbirth, dbirth] = edge.births(h.now);
    h.deliver(certificate(nbirth!));
    h.deliver(certificate(dbirth!));
    expect(h.nodeStatus("G", "E")).toBe("unknown");
    expect(h.deviceStatus("G", "E", "D")).toBe("unknown");
    expect(h.session.node("G", "E")?.birth?.source).toBe("certificate");
    expect(h.rebirthCommands()).toHaveLength(0);
  });

  it("takes the node online on its first live DATA, decoding it with the certificate's tables, with no rebirth", () => {
    // Values are decoded where they are shown.
    const h = new HostHarness({ profile: "inspect" });
    const edge = edgeNode();
    const [nbirth, dbirth] = edge.births(h.now);
    h.deliver(certificate(nbirth!));
    h.deliver(certificate(dbirth!));
    const step = h.publish(edge.ddata("D", { X: 42 }, h.now));
    expect(h.nodeStatus("G", "E")).toBe("online");
    expect(h.deviceStatus("G", "E", "D")).toBe("online");
    expect(step.processed[0]?.payload?.metrics[0]).toMatchObject({ name: "X", value: 42 });
    expect(h.eventsOf("node-born")).toMatchObject([{ source: "certificate" }]);
    h.advance(60_000);
    expect(h.rebirthCommands()).toHaveLength(0);
  });

  it("asks only the nodes still unproven after the grace period", () => {
    const h = new HostHarness({ unprovenGraceMs: 5000 });
    const quiet = edgeNode();
    const busy = new EdgeNodeEncoder("G", "Busy", 1n, [
      { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
    ]);
    h.deliver(certificate(quiet.nbirth(h.now)));
    h.deliver(certificate(busy.nbirth(h.now)));
    h.publish(busy.ndata({ T: 1 }, h.now));
    h.advance(6000);
    expect(h.eventsOf("rebirth-requested")).toMatchObject([{ edge: "E", reason: "unproven-birth" }]);
  });

  it("takes a certificate node offline on an NDEATH of the certificate's session", () => {
    const h = new HostHarness();
    const edge = edgeNode(3n);
    h.deliver(certificate(edge.nbirth(h.now)));
    h.publish(edge.ndeath(h.now));
    expect(h.nodeStatus("G", "E")).toBe("offline");
  });

  it("keeps a node that was online before our outage online when its certificate arrives after the reconnect", () => {
    const h = new HostHarness();
    const edge = edgeNode(4n);
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    const newer = edgeNode(5n); // it reconnected while we were away
    const [nbirth, dbirth] = newer.births(h.now);
    h.deliver(certificate(nbirth!));
    h.deliver(certificate(dbirth!));
    expect(h.session.node("G", "E")).toMatchObject({ status: "online", stale: true, bdSeq: 5n });
    expect(h.deviceStatus("G", "E", "D")).toBe("online");
  });

  it("lets live knowledge win over a certificate that arrives later", () => {
    const h = new HostHarness();
    const edge = edgeNode(4n);
    h.publish(edge.nbirth(h.now));
    h.deliver(certificate(edgeNode(3n).nbirth(h.now)));
    expect(h.session.node("G", "E")).toMatchObject({ status: "online", bdSeq: 4n });
  });
});

describe("losing our broker connection", () => {
  it("makes everything stale but declares nothing dead", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    expect(h.session.node("G", "E")).toMatchObject({ status: "online", stale: true });
    expect(h.session.node("G", "E")?.devices.get("D")).toMatchObject({ status: "online", stale: true });
    h.advance(600_000);
    expect(h.nodeStatus("G", "E")).toBe("online");
    expect(h.eventsOf("node-died")).toHaveLength(0);
  });

  it("on reconnect publishes STATE and asks the stale nodes for a rebirth; an answering node is fresh again", () => {
    const h = new HostHarness();
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    h.advance(10_000);
    const step = h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    expect(step.commands.map((c) => c.purpose)).toStrictEqual(["state-birth", "rebirth"]);
    for (const p of edge.births(h.now)) h.publish(p);
    expect(h.session.node("G", "E")).toMatchObject({ status: "online", stale: false });
    expect(h.session.node("G", "E")?.devices.get("D")).toMatchObject({ status: "online", stale: false });
  });

  it("accepts the first seq after a reconnect as the new base (we missed messages, not the node)", () => {
    const h = new HostHarness({ rebirth: { onUnknownNode: false } });
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    for (let i = 0; i < 5; i++) edge.ndata({ T: i }, h.now); // published while we were away
    h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    h.publish(edge.ndata({ T: 9 }, h.now));
    expect(h.eventsOf("seq-gap")).toHaveLength(0);
    expect(h.session.node("G", "E")?.stale).toBe(false);
  });

  it("starts the silence deadline when another host asks the stale node, too", () => {
    const h = new HostHarness({ staleTimeoutMs: 30_000, rebirth: { jitterMs: 1000 } });
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    // Another replica's NCMD arrives before our jittered request goes out: ours is cancelled.
    h.deliver(
      { topic: "spBv1.0/G/NCMD/E", payload: rebirthRequestPayload(h.now), qos: 0, retain: false },
      100,
    );
    h.advance(31_000);
    expect(h.rebirthCommands()).toHaveLength(0);
    expect(h.nodeStatus("G", "E")).toBe("offline");
  });

  it("declares a node that stays silent after the rebirth request offline, so no ghost remains", () => {
    const h = new HostHarness({ staleTimeoutMs: 30_000 });
    const edge = edgeNode();
    for (const p of edge.births(h.now)) h.publish(p);
    h.input({ kind: "offline", broker: "b" });
    h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    h.advance(29_000);
    expect(h.nodeStatus("G", "E")).toBe("online");
    h.advance(2_000);
    expect(h.nodeStatus("G", "E")).toBe("offline");
    expect(h.deviceStatus("G", "E", "D")).toBe("offline");
    expect(h.eventsOf("node-died")).toMatchObject([{ reason: "silent-after-reconnect" }]);
  });
});
