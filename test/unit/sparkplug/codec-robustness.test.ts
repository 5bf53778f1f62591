import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { decodePayload } from "../../../src/sparkplug/decode.js";
import { encodePayload } from "../../../src/sparkplug/encode.js";
import { MetricTable } from "../../../src/sparkplug/metric-table.js";
import { seededRandom } from "../../fixtures/build-quirks.js";
import { allDatatypeMetrics } from "../../support/all-datatypes.js";
import { bytes, concat, M, payload, uint } from "../../support/protobuf-bytes.js";

describe("decoding malformed payloads", () => {
  it("reports a truncated payload with the byte offset where decoding stopped", () => {
    const full = encodePayload({ timestamp: 1, seq: 0, metrics: allDatatypeMetrics() });
    const result = decodePayload(full.subarray(0, 200));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.offset).toBeGreaterThan(0);
    expect(!result.ok && result.error.offset).toBeLessThanOrEqual(200);
  });

  it("reports a length that points past the end", () => {
    const result = decodePayload(Uint8Array.from([0x12, 0x7f, 0x0a]));
    expect(result).toStrictEqual({
      ok: false,
      error: { message: expect.stringContaining("index out of range"), offset: 2 },
    });
  });

  it("reports a varint longer than ten bytes", () => {
    const result = decodePayload(Uint8Array.from([0x08, ...new Array(11).fill(0xff), 0x01]));
    expect(result.ok).toBe(false);
  });

  it.each([
    ["a group closed by another field's end tag", [0x2b, 0x08, 0x01, 0x34]],
    ["a tag varint longer than 32 bits", [0x08, 0x01, 0x80, 0x80, 0x80, 0x80, 0x70, 0x01]],
    ["wire type 6", [0x0e, 0x01]],
    ["wire type 7", [0x0f, 0x01]],
    ["an end-group tag outside any group", [0x0c]],
  ])("reports %s as malformed, as protobuf requires", (_, bytes) => {
    expect(decodePayload(Uint8Array.from(bytes)).ok).toBe(false);
  });

  it("skips a known field with the wrong wire type as an unknown one, as protobuf does", () => {
    // metrics (field 2) as a varint instead of a message
    const result = decodePayload(Uint8Array.from([0x08, 0x05, 0x10, 0x07]));
    expect(result.ok && result.payload.timestamp).toBe(5);
    expect(result.ok && result.payload.metrics).toStrictEqual([]);
  });

  it("skips unknown fields and extensions", () => {
    const data = concat(payload([bytes(M.name, "x")]), uint(99, 5), bytes(100, "ext"));
    const result = decodePayload(data);
    expect(result.ok && result.payload.metrics.map((m) => m.name)).toStrictEqual(["x"]);
  });

  it("rejects templates nested deeper than the recursion limit without overflowing the stack", () => {
    let template: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 2000; i++) {
      template = bytes(
        2,
        concat(bytes(M.name, "t"), uint(M.datatype, DataType.Template), bytes(M.template, template)),
      );
    }
    const result = decodePayload(
      payload([concat(bytes(M.name, "root"), uint(M.datatype, 19), bytes(M.template, template))]),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.message).toContain("max depth exceeded");
  });

  it("bounds how far a compressed payload may inflate", () => {
    const bomb = encodePayload({
      uuid: "SPBV1.0_COMPRESSED",
      body: deflateSync(Buffer.alloc(20 * 1024 * 1024)),
    });
    const result = decodePayload(bomb, { maxInflatedBytes: 1024 * 1024 });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.message).toContain("cannot inflate");
  });

  it("never throws on random or mutated bytes (100,000 payloads)", () => {
    const seed = 20261124;
    const random = seededRandom(seed);
    const valid = encodePayload({ timestamp: 1, seq: 0, metrics: allDatatypeMetrics() });
    const table = MetricTable.fromBirth(
      (decodePayload(valid) as { ok: true; payload: { metrics: never[] } }).payload.metrics,
    );
    let malformed = 0;
    for (let i = 0; i < 100_000; i++) {
      let data: Uint8Array;
      if (i % 2 === 0) {
        data = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      } else {
        data = Uint8Array.from(valid);
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
        data = data.subarray(0, Math.floor(random() * data.length) + 1);
      }
      let result: ReturnType<typeof decodePayload>;
      try {
        result = decodePayload(data, { table });
      } catch (e) {
        throw new Error(`seed ${seed}, payload ${i} threw: ${(e as Error).message}`);
      }
      if (!result.ok) malformed++;
    }
    expect(malformed).toBeGreaterThan(10_000);
  });
});

describe("encoding", () => {
  it("round-trips every datatype, DataSet, Template, PropertySet, null and historical metric", () => {
    const metrics = allDatatypeMetrics();
    const result = decodePayload(encodePayload({ timestamp: 7, seq: 3, metrics }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.payload.timestamp).toBe(7);
    expect(result.payload.seq).toBe(3);
    const byName = new Map(result.payload.metrics.map((m) => [m.name, m]));
    for (const input of metrics) {
      const decoded = byName.get(input.name);
      expect(decoded?.datatype, input.name).toBe(input.datatype);
      expect(decoded?.problem, input.name).toBeUndefined();
      if (input.datatype === DataType.Template || input.datatype === DataType.FloatArray) continue;
      const value = decoded?.value instanceof Uint8Array ? Uint8Array.from(decoded.value) : decoded?.value;
      expect(value, input.name).toStrictEqual(input.value ?? null);
    }
  });

  it("writes the 3.0 DATA form: alias only, no datatype", () => {
    const data = encodePayload({
      metrics: [{ alias: 5, datatype: DataType.Int8, omitDatatype: true, value: -1 }],
    });
    expect(Buffer.from(data).toString("hex")).toBe(
      Buffer.from(payload([concat(uint(M.alias, 5), uint(M.int, 4294967295))])).toString("hex"),
    );
  });

  it("refuses a value that does not fit its datatype, naming the metric", () => {
    expect(() =>
      encodePayload({ metrics: [{ name: "Speed", datatype: DataType.Int32, value: "fast" }] }),
    ).toThrow('metric "Speed": fast is not an integer for datatype 3');
  });
});
