import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import type { EdgePublish } from "../../../../src/sparkplug/edge-node-encoder.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import { HostHarness } from "../../../support/host-harness.js";

/*
 * One host over several independent brokers (Sparkplug 3.0 server sets; the TCK's
 * MultipleBrokerTest): a STATE birth, Will timestamp and death per broker, each node on the
 * broker of its last NBIRTH, rebirth requests where the node is, outages per broker.
 */

const A = "tcp://a:1883";
const B = "tcp://b:1883";

function line(bdSeq: bigint): EdgeNodeEncoder {
  const e = new EdgeNodeEncoder("G", "Line", bdSeq, [
    { name: "OS", datatype: DataType.String, value: "rtos" },
  ]);
  e.defineDevice("Motor", { metrics: [{ name: "Speed", alias: 1, datatype: DataType.Double, value: 0 }] });
  return e;
}

const on = (broker: string, publish: EdgePublish) => ({ ...publish, retain: false, broker });
const state = (payload: Uint8Array) =>
  JSON.parse(Buffer.from(payload).toString()) as { online: boolean; timestamp: number };

describe("a host on several brokers", () => {
  it("is born on each broker with that session's own timestamp, and dies on each on shutdown", () => {
    const h = new HostHarness({ hostId: "me" });
    const a = h.input({ kind: "online", broker: A, willTimestamp: 100 });
    const b = h.input({ kind: "online", broker: B, willTimestamp: 200 });
    expect(a.commands.map((c) => [c.purpose, c.broker, state(c.payload)])).toStrictEqual([
      ["state-birth", A, { online: true, timestamp: 100 }],
    ]);
    expect(b.commands.map((c) => [c.purpose, c.broker, state(c.payload)])).toStrictEqual([
      ["state-birth", B, { online: true, timestamp: 200 }],
    ]);
    // Our old Will on A, delivered late: born again on A with A's timestamp, and only there.
    h.clear();
    h.deliver({
      topic: "spBv1.0/STATE/me",
      payload: Buffer.from('{"online":false,"timestamp":50}'),
      qos: 1,
      retain: true,
      broker: A,
    });
    expect(h.commands.map((c) => [c.broker, state(c.payload)])).toStrictEqual([
      [A, { online: true, timestamp: 100 }],
    ]);
    const end = h.input({ kind: "shutdown" });
    expect(end.commands.map((c) => [c.purpose, c.broker])).toStrictEqual([
      ["state-death", A],
      ["state-death", B],
    ]);
  });

  it("follows a node that moves to the other broker: its old broker's late Will does not kill it", () => {
    const h = new HostHarness();
    h.input({ kind: "online", broker: A, willTimestamp: 1 });
    h.input({ kind: "online", broker: B, willTimestamp: 1 });
    const first = line(4n);
    for (const p of first.births(h.now)) h.deliver(on(A, p));
    expect(h.session.node("G", "Line")?.broker).toBe(A);
    // Cut from A, it reconnects to B with the next bdSeq, and only then A publishes its Will.
    const moved = line(5n);
    for (const p of moved.births(h.now)) h.deliver(on(B, p));
    h.deliver(on(A, first.will(h.now)));
    expect(h.eventsOf("stale-death-ignored")).toHaveLength(1);
    expect(h.session.node("G", "Line")).toMatchObject({ broker: B, status: "online", bdSeq: 5n });
    expect(h.deviceStatus("G", "Line", "Motor")).toBe("online");
    // seq follows the session, whichever broker it is on: no gap.
    h.deliver(on(B, moved.ddata("Motor", { Speed: 1 }, h.now)));
    expect(h.eventsOf("seq-gap")).toHaveLength(0);
  });

  it("asks a node for a rebirth on the broker it lives on, or where its DATA came from", () => {
    const h = new HostHarness();
    h.input({ kind: "online", broker: A, willTimestamp: 1 });
    h.input({ kind: "online", broker: B, willTimestamp: 1 });
    // Unknown node (its NBIRTH missed), heard on B: the request goes to B.
    const late = line(1n);
    late.births(h.now);
    h.deliver(on(B, late.ddata("Motor", { Speed: 1 }, h.now)));
    h.advance(2000);
    expect(h.rebirthCommands().map((c) => [c.topic, c.broker])).toStrictEqual([["spBv1.0/G/NCMD/Line", B]]);
  });

  it("a broker that goes down makes only its own nodes stale, and asks only them for a rebirth when it is back", () => {
    const h = new HostHarness();
    h.input({ kind: "online", broker: A, willTimestamp: 1 });
    h.input({ kind: "online", broker: B, willTimestamp: 1 });
    const onA = new EdgeNodeEncoder("G", "OnA", 1n);
    const onB = new EdgeNodeEncoder("G", "OnB", 1n);
    h.deliver(on(A, onA.nbirth(h.now)));
    h.deliver(on(B, onB.nbirth(h.now)));
    h.clear();
    h.input({ kind: "offline", broker: A });
    expect(h.session.node("G", "OnA")?.stale).toBe(true);
    expect(h.session.node("G", "OnB")?.stale).toBe(false);
    h.input({ kind: "online", broker: A, willTimestamp: 2 });
    h.advance(2000);
    expect(h.rebirthCommands().map((c) => [c.topic, c.broker])).toStrictEqual([["spBv1.0/G/NCMD/OnA", A]]);
  });
});
