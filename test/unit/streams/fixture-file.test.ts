import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import type { MqttMessage } from "../../../src/mqtt/message.js";
import { FixtureWriter, loadFixture } from "../../../src/streams/fixture-file.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "akri-mqtt-fixture-"));
});

const messages: MqttMessage[] = [
  {
    topic: "spBv1.0/g/NBIRTH/e",
    payload: Uint8Array.from([8, 1, 0, 255]),
    qos: 0,
    retain: false,
    at: Date.UTC(2026, 0, 5, 10),
  },
  {
    topic: "spBv1.0/STATE/h",
    payload: Buffer.from('{"online":true,"timestamp":1}'),
    qos: 1,
    retain: true,
    at: Date.UTC(2026, 0, 5, 10, 0, 0, 123),
  },
];

describe("fixture files", () => {
  it("writes JSON Lines with the capture field names and reads them back", async () => {
    const path = join(dir, "a.jsonl");
    const writer = FixtureWriter.create(path);
    for (const m of messages) await writer.write(m);
    await writer.close();
    const text = await readFile(path, "utf8");
    expect(text.split("\n")[0]).toBe(
      '{"at":"2026-01-05T10:00:00.000Z","topic":"spBv1.0/g/NBIRTH/e","qos":0,"retain":false,"payload_b64":"CAEA/w=="}',
    );
    const { messages: read, errors } = await loadFixture(path);
    expect(errors).toStrictEqual([]);
    expect(read.map((m) => ({ ...m, payload: Buffer.from(m.payload).toString("hex") }))).toStrictEqual(
      messages.map((m) => ({ ...m, payload: Buffer.from(m.payload).toString("hex") })),
    );
  });

  it("writes and reads gzip when the name ends in .gz", async () => {
    const path = join(dir, "a.jsonl.gz");
    const writer = FixtureWriter.create(path);
    for (const m of messages) await writer.write(m);
    await writer.close();
    const raw = await readFile(path);
    expect([raw[0], raw[1]]).toStrictEqual([0x1f, 0x8b]);
    expect((await loadFixture(path)).messages).toHaveLength(2);
  });

  it("detects gzip by content, whatever the name", async () => {
    const path = join(dir, "compressed.jsonl");
    await writeFile(path, gzipSync('{"at":0,"topic":"t","payload_b64":""}\n'));
    expect((await loadFixture(path)).messages.map((m) => m.topic)).toStrictEqual(["t"]);
  });

  it("accepts sparkplug-tck-go's {messages: [...]} wrapper, on one line or pretty-printed", async () => {
    const wrapped = {
      messages: [
        {
          topic: "spBv1.0/g/NDATA/e",
          qos: 1,
          retain: false,
          payload_b64: "CAE=",
          at: "2026-01-05T10:00:00.123456789Z",
        },
      ],
    };
    for (const [name, text] of [
      ["one-line.json", JSON.stringify(wrapped)],
      ["pretty.json", JSON.stringify(wrapped, null, 2)],
    ]) {
      const path = join(dir, name!);
      await writeFile(path, text!);
      const { messages: read, errors } = await loadFixture(path);
      expect(errors, name).toStrictEqual([]);
      expect(read, name).toHaveLength(1);
      expect(read[0]?.at, name).toBe(Date.UTC(2026, 0, 5, 10, 0, 0, 123));
      expect(read[0]?.qos).toBe(1);
    }
  });

  it("reports each bad line with its number and the key at fault, and keeps the good ones", async () => {
    const path = join(dir, "bad.jsonl");
    await writeFile(
      path,
      [
        '{"at":0,"topic":"ok/1","payload_b64":""}',
        "not json",
        '{"at":0,"payload_b64":""}',
        '{"at":0,"topic":"t","payload_b64":"@@@"}',
        '{"at":"yesterday","topic":"t"}',
        '{"at":0,"topic":"t","qos":3}',
        "",
        '{"at":0,"topic":"ok/2","payload":"plain text"}',
      ].join("\n"),
    );
    const { messages: read, errors } = await loadFixture(path);
    expect(read.map((m) => m.topic)).toStrictEqual(["ok/1", "ok/2"]);
    expect(Buffer.from(read[1]!.payload).toString()).toBe("plain text");
    expect(errors).toStrictEqual([
      "line 2: not valid JSON",
      'line 3: "topic" must be a non-empty string',
      'line 4: "payload_b64" is not valid base64',
      'line 5: "at" must be an ISO-8601 time or milliseconds since epoch',
      'line 6: "qos" must be 0, 1 or 2',
    ]);
  });
});

/*
 * The reader scans bytes for line ends and checks base64 without a regex. It must read
 * what readline and the base64 rule (either alphabet, whitespace ignored, at most two "="
 * at the end) read: line numbers, CR LF and lone CR ends, lines across read chunks, a last
 * line without its newline, and every payload byte.
 */
describe("fixture lines and base64, as readline and the base64 rule read them", () => {
  const BASE64_RULE = /^[A-Za-z0-9+/_-]*={0,2}$/;
  const expected = (b64: string): string | undefined => {
    const compact = b64.replace(/\s+/g, "");
    if (!BASE64_RULE.test(compact)) return undefined;
    return Buffer.from(
      compact,
      compact.includes("-") || compact.includes("_") ? "base64url" : "base64",
    ).toString("hex");
  };

  it("accepts and decodes exactly what the base64 rule accepts (20,000 random strings)", async () => {
    let seed = 99;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \t\r*.é";
    const samples: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * 256)),
      );
      const kind = random();
      let s = kind < 0.3 ? bytes.toString("base64") : kind < 0.5 ? bytes.toString("base64url") : "";
      if (kind >= 0.5)
        s = Array.from(
          { length: Math.floor(random() * 14) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join("");
      else if (random() < 0.3) {
        const at = Math.floor(random() * (s.length + 1));
        s = s.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + s.slice(at);
      }
      samples.push(s);
    }
    const path = join(dir, "base64.jsonl");
    await writeFile(
      path,
      samples.map((s) => JSON.stringify({ at: 0, topic: "t", payload_b64: s })).join("\n"),
    );
    const { messages: read, errors } = await loadFixture(path);
    const valid = samples.map(expected);
    expect(errors).toHaveLength(valid.filter((v) => v === undefined).length);
    expect(read.map((m) => Buffer.from(m.payload).toString("hex"))).toStrictEqual(
      valid.filter((v) => v !== undefined),
    );
    const firstBad = valid.indexOf(undefined);
    expect(errors[0]).toBe(`line ${firstBad + 1}: "payload_b64" is not valid base64`);
  });

  it("splits lines as readline does, across chunks of the file, with CR LF, lone CR and no final newline", async () => {
    const record = (i: number) =>
      JSON.stringify({ at: i, topic: `t/${"é".repeat(i % 7)}/${i}`, payload: "x".repeat(i % 300) });
    const ends = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"];
    let text = "";
    for (let i = 0; i < 3000; i++) text += record(i) + ends[i % ends.length];
    text += record(3000); // no newline at the end
    const path = join(dir, "lines.jsonl.gz");
    await writeFile(path, gzipSync(text));
    const { createInterface } = await import("node:readline");
    const { Readable } = await import("node:stream");
    const reference: { line: number; at: number }[] = [];
    let n = 0;
    for await (const line of createInterface({
      input: Readable.from([text]),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      n++;
      if (line.trim() !== "") reference.push({ line: n, at: JSON.parse(line).at });
    }
    const { messages: read, errors } = await loadFixture(path);
    expect(errors).toStrictEqual([]);
    expect(read.map((m) => m.at)).toStrictEqual(reference.map((r) => r.at));
    expect(read.map((m) => m.topic)).toStrictEqual(reference.map((r) => `t/${"é".repeat(r.at % 7)}/${r.at}`));
    // Line numbers in errors count every line, blank ones too.
    const bad = join(dir, "numbered.jsonl");
    await writeFile(bad, `${record(1)}\r\n\r\n{oops\n${record(2)}\rnot json`);
    expect((await loadFixture(bad)).errors).toStrictEqual([
      "line 3: not valid JSON",
      "line 5: not valid JSON",
    ]);
  });
});
