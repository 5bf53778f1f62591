import { describe, expect, it } from "vitest";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { decodePayload, summarizeData } from "../../../src/sparkplug/decode.js";
import { EdgeNodeEncoder } from "../../../src/sparkplug/edge-node-encoder.js";
import { encodePayload, type MetricInput } from "../../../src/sparkplug/encode.js";
import { HostSession } from "../../../src/sparkplug/host/host-session.js";
import { hostOptions } from "../../../src/sparkplug/host/options.js";
import { MetricTable } from "../../../src/sparkplug/metric-table.js";
import { quietDataSeq } from "../../../src/sparkplug/quiet-data.js";
import { seededRandom } from "../../fixtures/build-quirks.js";
import { allDatatypeMetrics } from "../../support/all-datatypes.js";

/*
 * Discovery reads DATA without its values (summarizeData); inspect and the monitor decode
 * it in full (decodePayload). Both must agree on everything discovery acts on: whether the
 * bytes are well formed (the same error at the same offset), seq and timestamp, and which
 * metrics the birth does not know. Checked on valid DATA of every datatype and on hundreds
 * of thousands of mutations of it, then end to end through two host sessions.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 777);

function birthTable(metrics: MetricInput[]): MetricTable {
  const birth = decodePayload(encodePayload({ timestamp: 1, seq: 0, metrics }));
  if (!birth.ok) throw new Error(birth.error.message);
  return MetricTable.fromBirth(birth.payload.metrics);
}

function mutate(random: () => number, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const flips = 1 + Math.floor(random() * 3);
  for (let i = 0; i < flips && out.length > 0; i++)
    out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  return random() < 0.3 ? out.subarray(0, Math.floor(random() * (out.length + 1))) : out;
}

describe("DATA summarised for discovery", () => {
  const all = allDatatypeMetrics();
  const table = birthTable(all);
  // DATA as 3.0 edge nodes send it (alias only, no datatype), as older ones do (names and
  // datatypes), and with metrics the birth does not have.
  const data = [
    encodePayload({
      timestamp: 5,
      seq: 7,
      metrics: all.map((m) => ({ ...m, name: undefined, omitDatatype: true })),
    }),
    encodePayload({ timestamp: 5, seq: 8, metrics: all.map((m) => ({ ...m, alias: undefined })) }),
    encodePayload({ timestamp: 5, seq: 9, metrics: all }),
    encodePayload({
      seq: 10,
      metrics: [
        { alias: 9999, datatype: DataType.Int32, value: 1, omitDatatype: true },
        { name: "not in the birth", datatype: DataType.String, value: "x" },
        { name: "Int8", datatype: DataType.Int8, value: 3 },
      ],
    }),
  ];

  it("finds what the full decode finds in valid DATA of every datatype", () => {
    for (const bytes of data) {
      const full = decodePayload(bytes, { table });
      const summary = summarizeData(bytes, { table });
      expect(full.ok && summary.ok).toBe(true);
      if (!full.ok || !summary.ok) continue;
      expect(summary.payload.seq).toBe(full.payload.seq);
      expect(summary.payload.timestamp).toBe(full.payload.timestamp);
      expect(summary.unresolved).toStrictEqual(
        full.payload.metrics
          .filter((m) => m.datatypeSource === "none" || table.indexOf(m.alias, m.name) === undefined)
          .map((m) => ({ alias: m.alias, name: m.name })),
      );
    }
    const last = summarizeData(data[3]!, { table });
    expect(last.ok && last.unresolved.map((m) => m.alias ?? m.name)).toStrictEqual([
      9999,
      "not in the birth",
    ]);
  });

  it("fails on the same malformed bytes with the same error at the same offset (100,000 mutations)", () => {
    const random = seededRandom(SEED);
    let failures = 0;
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutate(random, data[i % data.length]!);
      const full = decodePayload(bytes, { table });
      const summary = summarizeData(bytes, { table });
      const agree =
        !full.ok && !summary.ok
          ? summary.error.message === full.error.message && summary.error.offset === full.error.offset
          : full.ok &&
            summary.ok &&
            summary.payload.seq === full.payload.seq &&
            summary.unresolved.length ===
              full.payload.metrics.filter(
                (m) => m.datatypeSource === "none" || table.indexOf(m.alias, m.name) === undefined,
              ).length;
      if (!agree) {
        const context = `seed ${SEED}, mutation ${i}: ${Buffer.from(bytes).toString("hex")}`;
        expect({ ok: summary.ok, error: summary.ok ? undefined : summary.error }, context).toStrictEqual({
          ok: full.ok,
          error: full.ok ? undefined : full.error,
        });
        expect(summary.ok && summary.unresolved, context).toStrictEqual(
          full.ok && "(same unresolved metrics)",
        );
      }
      if (!full.ok) failures++;
    }
    // The mutations do reach the error paths.
    expect(failures).toBeGreaterThan(10_000);
  });

  it("reads quiet DATA by hand or by the scan, either way judging it as summarizeData does (100,000 mutations)", () => {
    // The quiet lane's plain loop judges only plain scalar DATA; everything else is left to the scan.
    const plainTypes: DataType[] = [
      DataType.Int32,
      DataType.Int64,
      DataType.UInt64,
      DataType.Float,
      DataType.Double,
      DataType.Boolean,
      DataType.String,
    ];
    // (Null, historical and transient ones too; one with properties is not the common shape.)
    const scalars = all.filter((m) => plainTypes.includes(m.datatype) && m.properties === undefined);
    const plain = [
      encodePayload({
        timestamp: 5,
        seq: 11,
        metrics: scalars.map((m) => ({ ...m, name: undefined, omitDatatype: true })),
      }),
      encodePayload({ timestamp: 5, seq: 12, metrics: scalars.map((m) => ({ ...m, alias: undefined })) }),
      encodePayload({ seq: 200, metrics: scalars }),
    ];
    // Quiet: well formed, every metric resolved, not compressed, with a seq.
    const verdict = (bytes: Uint8Array) => {
      const summary = summarizeData(bytes, { table });
      return summary.ok &&
        summary.unresolved.length === 0 &&
        summary.payload.compressed !== true &&
        summary.payload.seq !== undefined
        ? Number(summary.payload.seq)
        : undefined;
    };
    for (const bytes of plain) {
      expect(verdict(bytes)).toBeDefined();
      expect(quietDataSeq(bytes, table)).toBe(verdict(bytes));
    }
    const random = seededRandom(SEED);
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutate(random, plain[i % plain.length]!);
      const seq = quietDataSeq(bytes, table);
      const context = `seed ${SEED}, mutation ${i}: ${Buffer.from(bytes).toString("hex")}`;
      expect(seq, context).toBe(verdict(bytes));
      if (seq !== undefined) accepted++;
    }
    // Mutations that leave the shape intact are still quiet.
    expect(accepted).toBeGreaterThan(5_000);
  });

  // Without the seq check (as the monitor runs) the quiet lane has only its own checks to go by.
  it.each([true, false])(
    "gives a host session the same events as a full decode, step by step (seq checked: %s)",
    (checkSequence) => {
      const random = seededRandom(SEED);
      const session = (decodeDataValues: boolean) =>
        new HostSession(
          hostOptions({ hostId: "h", decodeDataValues, checkSequence, rebirth: { jitterMs: 0 } }),
          seededRandom(SEED + 1),
        );
      const full = session(true);
      const summary = session(false);
      const liveness = (s: HostSession) =>
        [...s.nodes.values()].map((n) => ({
          node: n.key,
          status: n.status,
          stale: n.stale,
          heardOn: n.heardOn,
          devices: [...n.devices.values()].map((d) => [d.id, d.status, d.stale, d.awaitingBirth]),
        }));
      const edges = Array.from({ length: 4 }, (_, i) => {
        const edge = new EdgeNodeEncoder("g", `e${i}`, BigInt(i), [
          { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
        ]);
        edge.defineDevice("d", { metrics: [{ name: "X", alias: 10, datatype: DataType.Double, value: 0 }] });
        return edge;
      });
      let now = Date.UTC(2026, 0, 5);
      let events = 0;
      for (let i = 0; i < 20_000; i++) {
        now += Math.floor(random() * 40);
        const edge = edges[Math.floor(random() * edges.length)]!;
        const r = random();
        const publish =
          r < 0.03
            ? edge.nbirth(now)
            : r < 0.06
              ? edge.dbirth("d", now)
              : r < 0.5
                ? edge.ddata("d", { X: random() }, now)
                : edge.ndata({ T: Math.floor(random() * 100) }, now);
        const payload = random() < 0.2 ? mutate(random, publish.payload) : publish.payload;
        // Now and then a topic one character off (a level emptied, a wildcard, a slash more or
        // less, another verb): the quick path must leave every one of them to the full one.
        let topic = publish.topic;
        if (random() < 0.1) {
          const at = Math.floor(random() * topic.length);
          const swap = ["/", "+", "#", "", "N", "D", "x"][Math.floor(random() * 7)]!;
          topic = topic.slice(0, at) + swap + topic.slice(at + (random() < 0.5 ? 1 : 0));
        }
        const input = {
          kind: "message" as const,
          // Two brokers: the broker a node was last heard on is where its rebirth request goes.
          message: {
            topic,
            payload,
            qos: 0 as const,
            retain: random() < 0.02,
            at: now,
            broker: random() < 0.9 ? "tcp://a:1883" : "tcp://b:1883",
          },
        };
        const a = full.step(input, now);
        const b = summary.step(input, now);
        expect(b.events, `seed ${SEED}, message ${i}`).toStrictEqual(a.events);
        expect(b.commands, `seed ${SEED}, message ${i}`).toStrictEqual(a.commands);
        events += a.events.length;
        // What discovery lists from: every node's and device's liveness.
        expect(liveness(summary), `seed ${SEED}, message ${i}`).toStrictEqual(liveness(full));
        if (random() < 0.02) {
          expect(summary.step({ kind: "tick" }, now + 3000).events).toStrictEqual(
            full.step({ kind: "tick" }, now + 3000).events,
          );
        }
        // Now and then broker A drops and comes back: its nodes are stale until they are heard again.
        if (random() < 0.005) {
          for (const other of [
            { kind: "broker-lost" as const, broker: "tcp://a:1883" },
            { kind: "broker-online" as const, broker: "tcp://a:1883", willTimestamp: now },
          ]) {
            const a = full.step(other, now);
            expect(summary.step(other, now), `seed ${SEED}, message ${i}`).toStrictEqual(a);
          }
        }
      }
      expect(events).toBeGreaterThan(1000);
    },
  );
});
