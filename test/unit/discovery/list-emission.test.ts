import { describe, expect, it } from "vitest";
import { ListEmitter } from "../../../src/discovery/list-emitter.js";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../src/sparkplug/edge-node-encoder.js";
import { EngineHarness } from "../../support/engine-harness.js";

/* When device lists go out: promptly at first, then only on change, coalesced. */

const details = "serverUrls: [tcp://b:1883]\n";

function node(i: number, devices: number): EdgeNodeEncoder {
  const e = new EdgeNodeEncoder("Plant", `Edge${i}`, 0n, []);
  for (let d = 0; d < devices; d++) {
    e.defineDevice(`D${d}`, { metrics: [{ name: "V", alias: d + 1, datatype: DataType.Int32, value: 0 }] });
  }
  return e;
}

describe("device list emission", () => {
  it("sends a first list promptly even when nothing is known yet", () => {
    const h = new EngineHarness(details);
    h.advance(600);
    expect(h.lists).toHaveLength(1);
    expect(h.lists[0]?.devices).toStrictEqual([]);
    expect(h.lists[0]!.at - Date.UTC(2026, 0, 5, 10)).toBeLessThanOrEqual(600);
  });

  it("waits for the start-up burst after the broker comes online before the first list", () => {
    const h = new EngineHarness(details);
    h.input({ kind: "online", broker: "b", willTimestamp: h.now }, 200);
    const e = node(1, 3);
    for (const p of e.births(h.now)) h.publish(p, 100);
    h.advance(3000);
    expect(h.lists.map((l) => l.devices.length)).toStrictEqual([3]);
  });

  it("turns a burst of 1,000 DBIRTHs into at most 5 lists", () => {
    const h = new EngineHarness(details);
    h.advance(1000);
    const before = h.lists.length;
    const nodes = Array.from({ length: 100 }, (_, i) => node(i, 10));
    // 1,000 DBIRTHs (and their NBIRTHs) over one second.
    for (const e of nodes) for (const p of e.births(h.now)) h.publish(p, 1);
    h.advance(10_000);
    const lists = h.lists.slice(before);
    expect(lists.length).toBeGreaterThanOrEqual(1);
    expect(lists.length).toBeLessThanOrEqual(5);
    expect(lists.at(-1)?.devices).toHaveLength(1000);
  });

  it("sends nothing when a change is undone before the list goes out", () => {
    const h = new EngineHarness(details);
    const e = node(1, 2);
    for (const p of e.births(h.now)) h.publish(p);
    h.advance(5000);
    const sent = h.lists.length;
    h.publish(e.ddeath("D0", h.now), 10);
    h.publish(e.dbirth("D0", h.now), 10);
    h.advance(5000);
    expect(h.lists.length).toBe(sent);
  });

  it("gets a steady trickle of changes through within maxDelay", () => {
    const h = new EngineHarness(details);
    h.advance(1000);
    const e = node(1, 40);
    h.publish(e.nbirth(h.now));
    const start = h.now;
    for (let d = 0; d < 40; d++) h.publish(e.dbirth(`D${d}`, h.now), 100);
    // Changes every 100 ms never leave 250 ms of quiet; lists still go out every 2 s.
    const during = h.lists.filter((l) => l.at > start && l.at <= h.now);
    expect(during.length).toBeGreaterThanOrEqual(1);
  });

  it("under a steady stream sends a list every maxDelay, counted from the last list, not from the first change after it", () => {
    const h = new EngineHarness(details);
    h.advance(1000);
    const e = node(1, 400);
    h.publish(e.nbirth(h.now));
    const start = h.lists.length;
    // A DBIRTH every 7 ms for 2.8 s: the first after each list comes up to 7 ms after it.
    for (let d = 0; d < 400; d++) h.publish(e.dbirth(`D${d}`, h.now), 7);
    const at = h.lists.slice(start).map((l) => l.at);
    expect(at.length).toBeGreaterThanOrEqual(3);
    // The first list of the stream 250 ms (quietMs) after its first change, then every 1,000 ms.
    expect(at.slice(1).map((t, i) => t - at[i]!)).toStrictEqual(at.slice(1).map(() => 1000));
  });

  it("after a quiet spell the first change of a stream waits quietMs, not a whole window", () => {
    const h = new EngineHarness(details);
    const e = node(1, 100);
    h.publish(e.nbirth(h.now));
    h.advance(5000);
    const before = h.lists.length;
    const first = h.now + 50;
    for (let d = 0; d < 100; d++) h.publish(e.dbirth(`D${d}`, h.now), 50);
    expect(h.lists[before]!.at - first).toBe(250);
  });

  it("closes the window earlier by the time the consumer took to deliver the last list, at most a tenth of it", () => {
    const run = (deliveredMs: number | undefined | ((list: number) => number), births = 400) => {
      const h = new EngineHarness(details);
      h.advance(1000);
      const e = node(1, births);
      h.publish(e.nbirth(h.now));
      const start = h.lists.length;
      let seen = start;
      for (let d = 0; d < births; d++) {
        h.publish(e.dbirth(`D${d}`, h.now), 7);
        // The consumer reports each list written out right after it was made.
        if (deliveredMs !== undefined && h.lists.length > seen) {
          seen = h.lists.length;
          const ms = typeof deliveredMs === "function" ? deliveredMs(seen - start) : deliveredMs;
          h.input({ kind: "delivered", ms });
        }
      }
      const at = h.lists.slice(start).map((l) => l.at);
      return at.slice(1).map((t, i) => t - at[i]!);
    };
    expect(new Set(run(undefined))).toStrictEqual(new Set([1000]));
    // 30 ms a list: the window is 970 ms from the first list delivered.
    expect(new Set(run(30))).toStrictEqual(new Set([970]));
    // A consumer that takes a second per list does not bring lists more than 10% closer.
    expect(Math.min(...run(1000))).toBeGreaterThanOrEqual(900);
    // One slow delivery (80 ms, the third list) counts for the next four lists, then no more.
    expect(run((list) => (list === 3 ? 80 : 30), 1300)).toStrictEqual([
      970, 970, 920, 920, 920, 920, 970, 970, 970,
    ]);
  });

  it("counts the window from when the last list was due, not from the late step that made it", () => {
    // The list timer fires late when the event loop is busy (a large list encoding, a GC
    // pause): under a steady stream the next list is still due a window after the last was.
    const emitter = new ListEmitter({ settleMs: 0, firstMaxWaitMs: 0, quietMs: 250, maxDelayMs: 1000 });
    emitter.start(0);
    expect(emitter.due(0)).toBe(true);
    const lists: number[] = [];
    let lateBy = 0;
    // A change every 10 ms for 6 s; each list is made 30 ms after it was due, the fourth 150 ms.
    for (let t = 10; t <= 6000; t += 10) {
      emitter.changed(t);
      const deadline = emitter.nextDeadline()!;
      if (t >= deadline + lateBy && emitter.due(t)) {
        lists.push(deadline);
        lateBy = lists.length === 3 ? 150 : 30;
      }
    }
    // When each list was due: a window apart, whatever the lateness; lateness past a tenth of
    // the window (the fourth list's 150 ms) moves the next one by the excess only (50 ms).
    expect(lists).toStrictEqual([1000, 2000, 3000, 4000, 5050]);
  });
});
