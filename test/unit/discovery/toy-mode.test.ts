import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { modeSet } from "../../../src/discovery/mode-set.js";
import { parseDiscoveryDetails } from "../../../src/discovery/modes/modes.js";
import { MODES } from "../../../src/discovery/modes/registry.js";
import { EngineHarness } from "../../support/engine-harness.js";
import { toyMode } from "../../support/toy-mode/mode.js";

/*
 * What a new discovery mode takes: a folder that declares it (here test/support/toy-mode/,
 * beside src/discovery/sparkplug/ and generic/ for a real one) and its entry in the list of
 * modes, added here exactly as src/discovery/modes/registry.ts lists the real ones.
 */
const withToy = modeSet([...MODES, toyMode]);

const SRC = resolve(import.meta.dirname, "../../../src");

/** Every `from "…"` of src/, as [importing file, imported file], both relative to src/. */
function imports(): [string, string][] {
  const out: [string, string][] = [];
  for (const file of readdirSync(SRC, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(join(SRC, file), "utf8");
    for (const [, spec] of text.matchAll(/from "(\.[^"]+)"/g))
      out.push([file, relative(SRC, resolve(SRC, dirname(file), spec!))]);
  }
  return out;
}

describe("a discovery mode is one folder and one entry in the list of modes", () => {
  it("is known to the rest of src/ only through modes/registry.ts, which imports its mode.ts alone", () => {
    const all = imports();
    for (const mode of MODES) {
      const folder = `discovery/${mode.name}/`;
      // The reference handler's mode is generic discovery with that handler's keys (the one
      // exception, which .dependency-cruiser.cjs names too).
      const reusesGeneric = (file: string) =>
        mode.name === "generic" && file.startsWith("discovery/reference/");
      const fromOutside = all.filter(
        ([file, target]) => target.startsWith(folder) && !file.startsWith(folder) && !reusesGeneric(file),
      );
      expect(fromOutside, mode.name).toStrictEqual([["discovery/modes/registry.ts", `${folder}mode.js`]]);
    }
  });

  it("parses `mode: toy` through the parse the list makes, with the toy's own keys, checks and warnings", () => {
    const parsed = withToy.parse("serverUrls: [tcp://lab:1883]\nmode: toy\ntoy: {prefix: lab, colour: red}");
    expect(parsed).toStrictEqual({
      ok: true,
      details: {
        brokers: [{ name: undefined, serverUrls: ["tcp://lab:1883"], uri: "tcp://lab:1883" }],
        clientId: "akri-mqtt",
        mqttVersion: 5,
        offlineGraceSeconds: 0,
        maxPayloadBytes: 16 * 1024 * 1024,
        inventoryAccess: "loopback",
        mode: "toy",
        toy: { prefix: "lab" },
      },
      warnings: ["unknown key toy.colour is ignored"],
    });
    // Its key alone chooses it, as topics choose generic.
    expect(withToy.parse("serverUrls: [tcp://lab]\ntoy: {prefix: lab}")).toMatchObject({
      details: { mode: "toy" },
    });
    expect(withToy.parse("serverUrls: [tcp://lab]\ntoy: {prefix: ''}")).toStrictEqual({
      ok: false,
      error: "toy.prefix: expected a non-empty string",
    });
    expect(withToy.parse("serverUrls: [tcp://lab]\nmode: toy")).toStrictEqual({
      ok: false,
      error: "toy: required in toy mode (expected {prefix: <topic level>})",
    });
    expect(withToy.parse("serverUrls: [tcp://lab]\nmode: robots")).toMatchObject({
      error: 'mode: expected one of "sparkplug", "reference", "generic", "toy", got "robots"',
    });
    // Its standard property is reserved in every mode.
    expect(
      withToy.parse("serverUrls: [tcp://lab]\nsparkplug: {properties: {TOY_TOPIC: Model}}"),
    ).toMatchObject({
      error: "sparkplug.properties.TOY_TOPIC: TOY_TOPIC is a standard property and cannot be mapped",
    });
  });

  it("runs in the engine: a message on its topics lists a device of the toy's kind", () => {
    const h = new EngineHarness("serverUrls: [tcp://lab:1883]\nmode: toy\ntoy: {prefix: lab}", {
      modes: withToy,
    });
    expect(h.engine.subscriptions).toStrictEqual(["lab/#"]);
    h.deliver({ topic: "lab/bench-3", payload: Buffer.from("{}"), qos: 0, retain: false });
    h.settle();
    expect(h.lists.at(-1)?.devices).toStrictEqual([
      {
        id: "lab/bench-3",
        kind: "toy-thing",
        properties: { MQTT_BROKER_URI: "tcp://lab:1883", TOY_TOPIC: "lab/bench-3" },
      },
    ]);
    expect(withToy.kindLabels["toy-thing"]).toBe("thing");
    expect(withToy.dataTopicProperties).toContain("TOY_TOPIC");
  });

  it("cannot take another mode's name or key", () => {
    expect(() => modeSet([...MODES, { ...toyMode, name: "generic" }])).toThrow(
      "two discovery modes are called generic",
    );
    const greedy = {
      ...toyMode,
      details: { ...toyMode.details, keys: () => ({ topics: z.string().optional() }) },
    };
    expect(() => modeSet([...MODES, greedy])).toThrow("discoveryDetails key topics of mode toy is taken");
  });

  it("is unknown to the commands until the list of modes has its entry", () => {
    expect(parseDiscoveryDetails("serverUrls: [tcp://lab]\nmode: toy\ntoy: {prefix: lab}")).toMatchObject({
      error: 'mode: expected one of "sparkplug", "reference", "generic", got "toy"',
    });
  });
});
