import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../../src/sparkplug/edge-node-encoder.js";
import type { HostCommand } from "../../../../src/sparkplug/host/events.js";
import { rebirthRequestPayload } from "../../../../src/sparkplug/host/timers.js";
import { HostHarness } from "../../../support/host-harness.js";

/*
 * When the host asks for a rebirth, and how it avoids storming a plant:
 * reference/sparkplug.md §3 E (items 25-28).
 */

function unknownNode(i: number): EdgeNodeEncoder {
  return new EdgeNodeEncoder("Plant", `Edge${i}`, 0n, [
    { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
  ]);
}

/** Sends of each one-second window, as counts. */
function perSecond(commands: { at: number }[], start: number): number[] {
  const counts: number[] = [];
  for (const c of commands) {
    const second = Math.floor((c.at - start) / 1000);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return counts;
}

describe("E25 reasons to ask for a rebirth", () => {
  it.each([
    ["NDATA", (e: EdgeNodeEncoder, now: number) => e.ndata({ T: 1 }, now)],
    ["DDEATH", (e: EdgeNodeEncoder, now: number) => e.ddeath("D", now)],
  ])("a %s from a node whose NBIRTH was not seen", (_verb, build) => {
    const h = new HostHarness();
    const edge = unknownNode(1);
    edge.nbirth(h.now);
    h.publish(build(edge, h.now));
    expect(h.eventsOf("data-before-birth")).toHaveLength(1);
    expect(h.eventsOf("rebirth-requested")).toMatchObject([
      { group: "Plant", edge: "Edge1", reason: "unknown-node" },
    ]);
  });

  it("DATA from a node that died and came back without a birth we saw", () => {
    const h = new HostHarness();
    const edge = unknownNode(1);
    h.publish(edge.nbirth(h.now));
    h.publish(edge.ndeath(h.now));
    h.publish(edge.ndata({ T: 1 }, h.now));
    expect(h.eventsOf("rebirth-requested")).toMatchObject([{ reason: "unknown-node" }]);
  });

  it("never asks when onUnknownNode is off (a read-only deployment)", () => {
    const h = new HostHarness({ rebirth: { onUnknownNode: false } });
    const edge = unknownNode(1);
    edge.nbirth(h.now);
    h.publish(edge.ndata({ T: 1 }, h.now));
    h.advance(60_000);
    expect(h.rebirthCommands()).toHaveLength(0);
  });

  it("never asks at all when maxPerSecond is 0", () => {
    const h = new HostHarness({ rebirth: { maxPerSecond: 0 } });
    const edge = unknownNode(1);
    edge.nbirth(h.now);
    h.publish(edge.ndata({ T: 1 }, h.now));
    expect(h.rebirthCommands()).toHaveLength(0);
  });
});

describe("E28 no rebirth storms", () => {
  it("1,000 unknown nodes sending DATA within one second get at most maxPerSecond requests per second, one per node", () => {
    const h = new HostHarness({ rebirth: { maxPerSecond: 10, minIntervalPerNodeMs: 30_000, jitterMs: 500 } });
    const start = h.now;
    const sent: { at: number; command: HostCommand }[] = [];
    const collect = () => {
      for (const command of h.commands.splice(0)) sent.push({ at: h.now, command });
    };
    const nodes = Array.from({ length: 1000 }, (_, i) => unknownNode(i));
    for (const node of nodes) node.nbirth(start);
    // Every node sends DATA once a millisecond apart, then again every 200 ms for two minutes.
    for (const [i, node] of nodes.entries()) {
      h.publish(node.ndata({ T: 1 }, h.now), { after: i === 0 ? 0 : 1 });
      collect();
    }
    for (let t = 0; t < 120_000; t += 200) {
      for (const steps of h.advance(200)) void steps;
      collect();
      for (const node of nodes.slice(0, 50)) h.publish(node.ndata({ T: 2 }, h.now), { after: 0 });
      collect();
    }
    const counts = perSecond(sent, start);
    expect(Math.max(...counts.filter((c) => c !== undefined))).toBeLessThanOrEqual(10);
    // Sliding windows too, not only aligned seconds.
    for (let i = 10; i < sent.length; i++)
      expect(sent[i]!.at - sent[i - 10]!.at).toBeGreaterThanOrEqual(1000);
    const perNode = new Map<string, number[]>();
    for (const { at, command } of sent)
      perNode.set(command.topic, [...(perNode.get(command.topic) ?? []), at]);
    for (const times of perNode.values()) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(30_000);
    }
    // Everyone is asked eventually: 1,000 nodes at 10 per second take 100 seconds.
    expect(perNode.size).toBe(1000);
  });

  it("a second host sharing the broker sends none for the nodes the first just asked", () => {
    const first = new HostHarness({ hostId: "a", rebirth: { jitterMs: 1000 } });
    const second = new HostHarness({ hostId: "b", rebirth: { jitterMs: 1000 } }, first.now, 8);
    // Both see the same DATA from 100 unknown nodes; the broker delivers each NCMD to both.
    const nodes = Array.from({ length: 100 }, (_, i) => unknownNode(i));
    for (const node of nodes) node.nbirth(first.now);
    const broker = (from: HostHarness, to: HostHarness[]) => {
      for (const command of from.commands.splice(0)) {
        for (const host of to)
          host.deliver({
            topic: command.topic,
            payload: command.payload,
            qos: 0,
            retain: false,
            at: from.now,
          });
      }
    };
    for (const node of nodes) {
      const data = node.ndata({ T: 1 }, first.now);
      first.publish(data, { after: 1 });
      second.publish(data, { after: 1 });
    }
    // Both run their clocks forward together, a millisecond at a time, exchanging commands through the broker.
    for (let t = 0; t < 15_000; t++) {
      first.advance(1);
      second.advance(1);
      broker(first, [first, second]);
      broker(second, [first, second]);
    }
    const byFirst = first.eventsOf("rebirth-requested").map((e) => e.edge);
    const bySecond = second.eventsOf("rebirth-requested").map((e) => e.edge);
    expect(byFirst.length + bySecond.length).toBe(100);
    expect(new Set([...byFirst, ...bySecond]).size).toBe(100);
  });

  it("counts a rebirth request that another host sent for the node as our own", () => {
    const h = new HostHarness({ rebirth: { jitterMs: 0 } });
    const node = unknownNode(1);
    node.nbirth(h.now);
    h.deliver({
      topic: "spBv1.0/Plant/NCMD/Edge1",
      payload: rebirthRequestPayload(h.now),
      qos: 0,
      retain: false,
    });
    h.publish(node.ndata({ T: 1 }, h.now));
    expect(h.eventsOf("rebirth-observed")).toHaveLength(1);
    expect(h.rebirthCommands()).toHaveLength(0);
    h.advance(30_000);
    h.publish(node.ndata({ T: 1 }, h.now));
    expect(h.rebirthCommands()).toHaveLength(1);
  });
});
