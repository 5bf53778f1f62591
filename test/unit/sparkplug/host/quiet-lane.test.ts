import { describe, expect, it } from "vitest";
import type { MqttMessage } from "../../../../src/mqtt/message.js";
import { DataType } from "../../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../../../src/sparkplug/edge-node-encoder.js";
import { type HostInput, HostSession } from "../../../../src/sparkplug/host/host-session.js";
import { hostOptions } from "../../../../src/sparkplug/host/options.js";
import { rebirthRequestPayload } from "../../../../src/sparkplug/host/timers.js";
import { encodeStatePayload } from "../../../../src/sparkplug/state.js";
import { seededRandom } from "../../../fixtures/build-quirks.js";
import { mutateBytes } from "../../../support/fuzz.js";
import { auditQuietLane } from "../../../support/quiet-audit.js";

/*
 * The quiet lane (src/sparkplug/host/quiet-lane.ts) applies most DATA without the full path.
 * Discovery's session takes it; inspect's decodes every message in full. Fed the same random
 * traffic, step by step, both must give the same events and commands and the same liveness,
 * and after every step of discovery's session the audit (test/support/quiet-audit.ts) looks
 * every birth the lane trusts up afresh. The traffic is what a plant sends (births, DATA,
 * deaths of nodes and devices), what other hosts send (STATE, rebirth requests), what a
 * Sparkplug-aware broker republishes (certificates, some with other alias tables), with
 * mutated payloads, topics one character off, retained messages, two brokers, ticks and
 * broker outages.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 777);
const A = "tcp://a:1883";
const B = "tcp://b:1883";

function edgeNodes(): { live: EdgeNodeEncoder; certified: EdgeNodeEncoder }[] {
  return Array.from({ length: 4 }, (_, i) => {
    const live = new EdgeNodeEncoder("g", `e${i}`, BigInt(i), [
      { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
    ]);
    live.defineDevice("d", { metrics: [{ name: "X", alias: 10, datatype: DataType.Double, value: 0 }] });
    // What a broker republished of another session of the node: its own alias for T.
    const certified = new EdgeNodeEncoder("g", `e${i}`, BigInt(i + 1), [
      { name: "T", alias: i % 2 === 0 ? 1 : 2, datatype: DataType.Int32, value: 0 },
    ]);
    certified.defineDevice("d", { metrics: [{ name: "X", alias: 10, datatype: DataType.Double, value: 0 }] });
    return { live, certified };
  });
}

/** A seeded stream of host inputs, each with the time it happens. */
function* traffic(
  random: () => number,
  steps: number,
): Generator<{ input: HostInput; now: number; i: number }> {
  const edges = edgeNodes();
  let now = Date.UTC(2026, 0, 5);
  for (let i = 0; i < steps; i++) {
    now += Math.floor(random() * 40);
    const r = random();
    // Now and then broker A drops and comes back, or time passes a deadline.
    if (r < 0.004) {
      yield { input: { kind: "offline", broker: A }, now, i };
      yield { input: { kind: "online", broker: A, willTimestamp: now }, now, i };
      continue;
    }
    if (r < 0.02) {
      yield { input: { kind: "tick" }, now: now + 3000, i };
      continue;
    }
    const { live, certified } = edges[Math.floor(random() * edges.length)]!;
    const message = messageOf(random, live, certified, now);
    yield { input: { kind: "message", message }, now, i };
  }
}

function messageOf(
  random: () => number,
  live: EdgeNodeEncoder,
  certified: EdgeNodeEncoder,
  now: number,
): MqttMessage {
  const r = random();
  let publish: EdgePublish;
  let retain = random() < 0.02;
  if (r < 0.03) publish = live.nbirth(now);
  else if (r < 0.06) publish = live.dbirth("d", now);
  else if (r < 0.07) publish = live.ndeath(now);
  else if (r < 0.08) publish = live.ddeath("d", now);
  else if (r < 0.09) {
    // Another host's STATE, or our own death racing in.
    const hostId = random() < 0.7 ? "scada" : "h";
    const payload = encodeStatePayload(random() < 0.5, now);
    publish = { topic: `spBv1.0/STATE/${hostId}`, payload, qos: 1, retain: false };
  } else if (r < 0.1) {
    const birth = random() < 0.5 ? certified.nbirth(now) : certified.dbirth("d", now);
    publish = { ...birth, topic: `$sparkplug/certificates/${birth.topic}` };
    retain = true;
  } else if (r < 0.11) {
    // Another host asks the node for a rebirth.
    publish = {
      topic: `spBv1.0/g/NCMD/${live.edge}`,
      payload: rebirthRequestPayload(now),
      qos: 0,
      retain: false,
    };
  } else if (r < 0.5) publish = live.ddata("d", { X: random() }, now);
  else publish = live.ndata({ T: Math.floor(random() * 100) }, now);
  const payload = random() < 0.2 ? mutateBytes(random, publish.payload) : publish.payload;
  // Now and then a topic one character off (a level emptied, a wildcard, a slash more or
  // less, another verb): the quiet lane must leave every one of them to the full path.
  let topic = publish.topic;
  if (random() < 0.1) {
    const at = Math.floor(random() * topic.length);
    const swap = ["/", "+", "#", "", "N", "D", "x"][Math.floor(random() * 7)]!;
    topic = topic.slice(0, at) + swap + topic.slice(at + (random() < 0.5 ? 1 : 0));
  }
  // Two brokers: the broker a node was last heard on is where its rebirth request goes.
  return { topic, payload, qos: 0, retain, at: now, broker: random() < 0.9 ? A : B };
}

describe("the quiet lane", () => {
  it("gives the same events, commands and liveness as the full path, step by step, and trusts no birth a fresh lookup would not find", () => {
    const settings = { hostId: "h", publishState: false, rebirth: { jitterMs: 0 } };
    const quiet = new HostSession(hostOptions("discovery", settings), seededRandom(SEED + 1));
    const full = new HostSession(hostOptions("inspect", settings), seededRandom(SEED + 1));
    const liveness = (s: HostSession) =>
      [...s.nodes.values()].map((n) => ({
        node: n.key,
        status: n.status,
        stale: n.stale,
        heardOn: n.heardOn,
        devices: [...n.devices.values()].map((d) => [d.id, d.status, d.stale, d.awaitingBirth]),
      }));
    const seen = new Set<string>();
    let quietSteps = 0;
    for (const { input, now, i } of traffic(seededRandom(SEED), 10_000)) {
      const where = `seed ${SEED}, input ${i} (${input.kind === "message" ? input.message.topic : input.kind})`;
      const a = full.step(input, now);
      const b = quiet.step(input, now);
      auditQuietLane(quiet, where);
      expect(b.events, where).toStrictEqual(a.events);
      expect(b.commands, where).toStrictEqual(a.commands);
      expect(liveness(quiet), where).toStrictEqual(liveness(full));
      if (Object.isFrozen(b.events)) quietSteps++;
      for (const event of a.events) seen.add(event.kind);
    }
    // It can fail: much DATA took the quiet lane (deaths, gaps and mutations keep the rest
    // off it), and the traffic caused every kind of change.
    expect(quietSteps).toBeGreaterThan(500);
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        "broker-lost",
        "broker-online",
        "data-before-birth",
        "decode-error",
        "device-born",
        "device-died",
        "host-state",
        "node-born",
        "node-died",
        "not-sparkplug",
        "rebirth-observed",
        "rebirth-requested",
        "retained-message",
        "seq-gap",
        "unknown-metric",
      ]),
    );
  }, 120_000);
});
