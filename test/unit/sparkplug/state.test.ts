import { describe, expect, it } from "vitest";
import { encodeStatePayload, parseStatePayload } from "../../../src/sparkplug/state.js";

const text = (s: string) => Buffer.from(s, "utf8");

describe("host STATE payloads", () => {
  it("reads the 3.0 JSON form and tolerates extra keys", () => {
    expect(parseStatePayload(text('{"online":true,"timestamp":1700000000000}'), "3.0")).toStrictEqual({
      ok: true,
      state: { online: true, timestamp: 1700000000000 },
    });
    expect(parseStatePayload(text('{"online":false,"timestamp":5,"bdSeq":3}'), "3.0")).toMatchObject({
      ok: true,
      state: { online: false, timestamp: 5 },
    });
  });

  it("reads the 2.2 ONLINE / OFFLINE strings", () => {
    expect(parseStatePayload(text("ONLINE"), "2.2")).toStrictEqual({ ok: true, state: { online: true } });
    expect(parseStatePayload(text("OFFLINE"), "2.2")).toStrictEqual({ ok: true, state: { online: false } });
  });

  it.each([
    ["3.0", "ONLINE", "3.0 STATE payload is not JSON"],
    ["3.0", "[]", "must be a JSON object"],
    ["3.0", '{"online":"yes","timestamp":1}', 'key "online" must be a boolean'],
    ["3.0", '{"online":true}', 'key "timestamp" must be a number'],
    ["2.2", "online", "must be ONLINE or OFFLINE"],
  ] as const)("rejects %s %j: %s", (version, payload, error) => {
    const result = parseStatePayload(text(payload), version);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(error);
  });

  it("rejects invalid UTF-8", () => {
    expect(parseStatePayload(Uint8Array.from([0xff, 0xfe]), "3.0")).toStrictEqual({
      ok: false,
      error: "STATE payload is not valid UTF-8",
    });
  });

  it("writes the 3.0 form", () => {
    expect(Buffer.from(encodeStatePayload(true, 42)).toString()).toBe('{"online":true,"timestamp":42}');
  });
});
