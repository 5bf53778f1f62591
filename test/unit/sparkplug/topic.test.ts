import { describe, expect, it } from "vitest";
import { edgeTopic, parseTopic } from "../../../src/sparkplug/topic.js";
import { seededRandom } from "../../fixtures/build-quirks.js";

describe("parsing the Sparkplug topic namespace", () => {
  it.each(["NBIRTH", "NDEATH", "NDATA", "NCMD"])("%s is a node message with four levels", (verb) => {
    expect(parseTopic(`spBv1.0/Plant 1/${verb}/Edge-A`)).toStrictEqual({
      kind: "node",
      verb,
      group: "Plant 1",
      edge: "Edge-A",
    });
  });

  it.each(["DBIRTH", "DDEATH", "DDATA", "DCMD"])("%s is a device message with five levels", (verb) => {
    expect(parseTopic(`spBv1.0/g/${verb}/e/Ünïcode dev`)).toStrictEqual({
      kind: "device",
      verb,
      group: "g",
      edge: "e",
      device: "Ünïcode dev",
    });
  });

  it("reads 3.0 STATE and 2.2 STATE topics", () => {
    expect(parseTopic("spBv1.0/STATE/scada")).toStrictEqual({
      kind: "state",
      version: "3.0",
      hostId: "scada",
    });
    expect(parseTopic("STATE/ignition")).toStrictEqual({ kind: "state", version: "2.2", hostId: "ignition" });
  });

  it("keeps a group literally named STATE an edge topic", () => {
    expect(parseTopic("spBv1.0/STATE/NBIRTH/e")).toMatchObject({
      kind: "node",
      group: "STATE",
      verb: "NBIRTH",
    });
  });

  it("reads births republished by a Sparkplug-aware broker", () => {
    expect(parseTopic("$sparkplug/certificates/spBv1.0/g/NBIRTH/e")).toStrictEqual({
      kind: "certificate",
      birth: { kind: "node", verb: "NBIRTH", group: "g", edge: "e" },
    });
    expect(parseTopic("$sparkplug/certificates/spBv1.0/g/DBIRTH/e/d")).toMatchObject({
      kind: "certificate",
      birth: { kind: "device", device: "d" },
    });
  });

  it.each([
    ["robots/r1/joints", "does not start with spBv1.0/ or STATE/"],
    ["spBv1.0/g/NBIRTH", "found 3 levels"],
    ["spBv1.0/g/NBIRTH/e/d", "NBIRTH is a node message and takes no device id level"],
    ["spBv1.0/g/DDATA/e", "DDATA is a device message and needs a device id level"],
    ["spBv1.0/g/NMETA/e", 'unknown message type "NMETA"'],
    ["spBv1.0//NDATA/e", "empty group id"],
    ["spBv1.0/g/NDATA/", "empty edge node id"],
    ["spBv1.0/g/DDATA/e/", "empty device id"],
    ["spBv1.0/g/NDATA/e/d/x", "found 6 levels"],
    ["spBv1.0/g/DDATA/e/d/x", "found 6 levels"],
    ["spBv1.0/g/DDATA/e/d+", 'device id "d+" contains a wildcard'],
    ["spBv1.0/g#/NDATA/e", 'group id "g#" contains a wildcard'],
    ["spBv1.0/g/NDATA/+", 'edge node id "+" contains a wildcard'],
    ["spBv1.0/g/ndata/e", 'unknown message type "ndata"'],
    ["spBv1.0/STATE", "needs exactly one host id level"],
    ["spBv1.0/STATE/a/b", 'unknown message type "a"'],
    ["STATE/a/b", "needs exactly one host id level, found 2"],
    ["$sparkplug/certificates/spBv1.0/g/NDATA/e", "certificate topics hold only NBIRTH and DBIRTH"],
    ["spAv1.0/g/NDATA/e", "does not start with spBv1.0/"],
    ["", "does not start with"],
  ])("%j is not Sparkplug: %s", (topic, reason) => {
    const parsed = parseTopic(topic);
    expect(parsed.kind).toBe("not-sparkplug");
    expect(parsed.kind === "not-sparkplug" && parsed.reason).toContain(reason);
  });

  it("round-trips every edge topic it accepts, and gives a reason for the rest (100,000 random topics)", () => {
    const seed = 20261125;
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const levels = [
      "spBv1.0",
      "STATE",
      "g",
      "Plant 1",
      "",
      "+",
      "#",
      "a+b",
      "NDATA",
      "DDATA",
      "NBIRTH",
      "DCMD",
      "e",
      "Ünï",
      "d",
    ];
    let edges = 0;
    for (let i = 0; i < 100_000; i++) {
      const count = 1 + Math.floor(random() * 6);
      const topic = Array.from({ length: count }, (_, k) =>
        k === 0 && random() < 0.8 ? "spBv1.0" : pick(levels),
      ).join("/");
      const parsed = parseTopic(topic);
      if (parsed.kind === "node" || parsed.kind === "device") {
        edges++;
        const device = parsed.kind === "device" ? parsed.device : undefined;
        expect(edgeTopic(parsed.verb, parsed.group, parsed.edge, device), `seed ${seed}: ${topic}`).toBe(
          topic,
        );
        for (const level of [parsed.group, parsed.edge, device ?? "x"])
          expect(level === "" || /[+#/]/.test(level), `seed ${seed}: ${topic}`).toBe(false);
      } else if (parsed.kind === "not-sparkplug") {
        expect(parsed.reason.length, `seed ${seed}: ${topic}`).toBeGreaterThan(0);
      }
    }
    expect(edges).toBeGreaterThan(1000);
  });
});
