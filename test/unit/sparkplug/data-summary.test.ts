import { describe, expect, it } from "vitest";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { decodePayload, summarizeData } from "../../../src/sparkplug/decode.js";
import { encodePayload, type MetricInput } from "../../../src/sparkplug/encode.js";
import { MetricTable } from "../../../src/sparkplug/metric-table.js";
import { quietDataSeq } from "../../../src/sparkplug/quiet-data.js";
import { seededRandom } from "../../fixtures/build-quirks.js";
import { allDatatypeMetrics } from "../../support/all-datatypes.js";
import { mutateBytes } from "../../support/fuzz.js";

/*
 * Discovery reads DATA without its values (summarizeData); inspect and the monitor decode
 * it in full (decodePayload). Both must agree on everything discovery acts on: whether the
 * bytes are well formed (the same error at the same offset), seq and timestamp, and which
 * metrics the birth does not know. Checked on valid DATA of every datatype and on hundreds
 * of thousands of mutations of it. (End to end through two host sessions: quiet-lane.test.ts.)
 */

const SEED = Number(process.env.FUZZ_SEED ?? 777);

function birthTable(metrics: MetricInput[]): MetricTable {
  const birth = decodePayload(encodePayload({ timestamp: 1, seq: 0, metrics }));
  if (!birth.ok) throw new Error(birth.error.message);
  return MetricTable.fromBirth(birth.payload.metrics);
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
      const bytes = mutateBytes(random, data[i % data.length]!);
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
      const bytes = mutateBytes(random, plain[i % plain.length]!);
      const seq = quietDataSeq(bytes, table);
      const context = `seed ${SEED}, mutation ${i}: ${Buffer.from(bytes).toString("hex")}`;
      expect(seq, context).toBe(verdict(bytes));
      if (seq !== undefined) accepted++;
    }
    // Mutations that leave the shape intact are still quiet.
    expect(accepted).toBeGreaterThan(5_000);
  });
});
