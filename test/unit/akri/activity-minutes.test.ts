import { describe, expect, it } from "vitest";
import { ActivityMinutes } from "../../../src/akri/activity-minutes.js";

/*
 * The fleet page's chart reads births, deaths and rebirth requests per minute over the last
 * hour from GET /activity: each minute's counts in its place, nothing older than an hour,
 * one stream's apart from another's.
 */

const T = Date.UTC(2026, 11, 3, 10, 0, 0);
const MINUTE = 60_000;

describe("births, deaths and rebirth requests per minute", () => {
  it("counts each kind in its series and minute, oldest minute first, the last one now's", () => {
    const minutes = new ActivityMinutes();
    minutes.count(1, "node-born", T);
    minutes.count(1, "device-born", T + 1000);
    minutes.count(1, "device-died", T + 5 * MINUTE);
    minutes.count(1, "node-died", T + 5 * MINUTE + 59_999);
    minutes.count(1, "rebirth-requested", T + 5 * MINUTE);
    minutes.count(1, "seq-gap", T); // not a birth, a death or a rebirth request
    const [read] = minutes.read(() => true, T + 5 * MINUTE + 30_000);
    expect(read!.stream).toBe(1);
    expect(read!.from).toBe(new Date(T - 54 * MINUTE).toISOString());
    expect(read!.births).toHaveLength(60);
    expect(read!.births[54]).toBe(2);
    expect(read!.deaths[59]).toBe(2);
    expect(read!.rebirths[59]).toBe(1);
    expect(read!.births.reduce((a, b) => a + b)).toBe(2);
  });

  it("forgets what is older than an hour, though its bucket was never written again", () => {
    const minutes = new ActivityMinutes();
    minutes.count(1, "node-died", T);
    expect(minutes.read(() => true, T + 59 * MINUTE)[0]!.deaths[0]).toBe(1);
    expect(minutes.read(() => true, T + 60 * MINUTE)[0]!.deaths).toStrictEqual(new Array(60).fill(0));
    // The same bucket an hour later starts from zero.
    minutes.count(1, "node-died", T + 60 * MINUTE);
    expect(minutes.read(() => true, T + 60 * MINUTE)[0]!.deaths[59]).toBe(1);
  });

  it("keeps each stream apart, shows only those the client may see, and lets a closed one go", () => {
    const minutes = new ActivityMinutes();
    minutes.count(1, "node-born", T);
    minutes.count(2, "node-born", T);
    minutes.count(2, "node-born", T);
    expect(minutes.read((s) => s === 2, T).map((r) => [r.stream, r.births[59]])).toStrictEqual([[2, 2]]);
    minutes.forget(2);
    expect(minutes.read(() => true, T).map((r) => r.stream)).toStrictEqual([1]);
  });
});
