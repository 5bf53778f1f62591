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
