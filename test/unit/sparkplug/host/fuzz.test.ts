import { describe, expect, it } from "vitest";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../../../src/sparkplug/edge-node-encoder.js";
import { type HostInput, HostSession } from "../../../../src/sparkplug/host/host-session.js";
import { hostOptions } from "../../../../src/sparkplug/host/options.js";
import { seededRandom } from "../../../fixtures/build-quirks.js";
import { auditQuietLane } from "../../../support/quiet-audit.js";

/*
 * The reducer never throws, whatever arrives: 100,000+ inputs of random and mutated
 * topics and payloads, broker losses and timer ticks, from a seed printed on failure
 * (FUZZ_SEED=<n> reproduces a run). After every step, the quiet lane trusts no birth that
 * a fresh lookup of the model would not find (test/support/quiet-audit.ts).
 */

const VERBS = [
  "NBIRTH",
  "NDEATH",
  "NDATA",
  "NCMD",
  "DBIRTH",
  "DDEATH",
  "DDATA",
  "DCMD",
  "NMETA",
  "STATE",
  "",
];

describe("the host session under random input", () => {
  it("never throws and keeps its model consistent (100,000 messages)", () => {
    const seed = Number(process.env.FUZZ_SEED ?? 424242);
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const session = new HostSession(
      hostOptions("discovery", { hostId: "fuzz", rebirth: { jitterMs: 100 } }),
      random,
    );
    const edges = Array.from({ length: 8 }, (_, i) => {
      const edge = new EdgeNodeEncoder(`g${i % 2}`, `e${i}`, BigInt(i), [
        { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
      ]);
      edge.defineDevice("d0", { metrics: [{ name: "X", alias: 10, datatype: DataType.Int8, value: 0 }] });
      edge.defineDevice("d1", { metrics: [{ name: "Y", alias: 20, datatype: DataType.String, value: "" }] });
      return edge;
    });
    let now = Date.UTC(2026, 0, 5);

    const validPublish = (): EdgePublish => {
      const edge = pick(edges);
      switch (Math.floor(random() * 8)) {
        case 0:
          return edge.nbirth(now, Math.floor(random() * 256));
        case 1:
          return edge.dbirth(pick(["d0", "d1"]), now);
        case 2:
          return edge.ddeath(pick(["d0", "d1"]), now);
        case 3:
          if (random() < 0.3) edge.bdSeq = BigInt(Math.floor(random() * 4));
          return edge.ndeath(now);
        case 4:
          return edge.ddata("d0", { X: Math.floor(random() * 256) - 128 }, now);
        case 5:
          return edge.ddata("d1", { Y: "v" }, now);
        default:
          return edge.ndata({ T: Math.floor(random() * 1000) }, now);
      }
    };
    const randomTopic = (): string => {
      const r = random();
      if (r < 0.1)
        return Array.from({ length: Math.floor(random() * 12) }, () =>
          String.fromCharCode(32 + Math.floor(random() * 95)),
        ).join("");
      if (r < 0.15) return `spBv1.0/STATE/${pick(["fuzz", "other", ""])}`;
      if (r < 0.2) return `$sparkplug/certificates/spBv1.0/g0/${pick(VERBS)}/e${Math.floor(random() * 8)}`;
      const levels = ["spBv1.0", `g${Math.floor(random() * 2)}`, pick(VERBS), `e${Math.floor(random() * 8)}`];
      if (random() < 0.5) levels.push(`d${Math.floor(random() * 2)}`);
      return levels.join("/");
    };
    const mutate = (bytes: Uint8Array): Uint8Array => {
      const out = Uint8Array.from(bytes);
      const flips = Math.floor(random() * 3);
      for (let i = 0; i < flips && out.length > 0; i++)
        out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
      return random() < 0.3 ? out.subarray(0, Math.floor(random() * (out.length + 1))) : out;
    };

    let i = 0;
    const step = (input: HostInput): void => {
      session.step(input, now);
      auditQuietLane(session, `seed ${seed}, input ${i}`);
    };
    try {
      for (; i < 100_000; i++) {
        now += Math.floor(random() * 50);
        const r = random();
        if (r < 0.01) {
          step({ kind: "tick" });
          continue;
        }
        if (r < 0.012) {
          step({ kind: random() < 0.5 ? "offline" : "online", broker: "b", willTimestamp: now });
          continue;
        }
        let topic: string;
        let payload: Uint8Array;
        if (r < 0.6) {
          const p = validPublish();
          topic = random() < 0.9 ? p.topic : randomTopic();
          payload = random() < 0.8 ? p.payload : mutate(p.payload);
        } else if (r < 0.8) {
          topic = randomTopic();
          payload = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
        } else {
          topic = randomTopic();
          payload = Buffer.from(pick(['{"online":true,"timestamp":1}', "ONLINE", "{", ""]));
        }
        step({ kind: "message", message: { topic, payload, qos: 0, retain: random() < 0.05, at: now } });
      }
    } catch (e) {
      throw new Error(`seed ${seed}, input ${i}: ${(e as Error).stack}`);
    }

    for (const node of session.nodes.values()) {
      expect(["online", "offline", "unknown"], `seed ${seed}`).toContain(node.status);
      for (const device of node.devices.values()) {
        expect(["online", "offline", "unknown"], `seed ${seed}`).toContain(device.status);
        if (node.status === "offline")
          expect(device.status, `seed ${seed}: ${node.key}/${device.id}`).not.toBe("online");
      }
    }
    expect(session.nodes.size, `seed ${seed}`).toBeLessThanOrEqual(16);
  });
});
