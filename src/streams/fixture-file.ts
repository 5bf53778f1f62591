import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type { MqttMessage } from "../mqtt/message.js";

/*
 * Fixture files (design.md §6): JSON Lines, one MQTT message per line, in arrival order,
 *   {"at":"2026-01-05T10:00:00.123Z","topic":"…","qos":0,"retain":false,"payload_b64":"…"}
 * with the field names of sparkplug-tck-go's captures, whose {"messages":[…]} wrapper is
 * accepted on input too. Files may be gzip-compressed (detected by content, not name).
 * A text `payload` may stand in for `payload_b64` in hand-written generic fixtures.
 */

export type FixtureEntry =
  | { kind: "message"; line: number; message: MqttMessage }
  | { kind: "error"; line: number; error: string };

/**
 * Base64 characters (both alphabets: Node decodes either) as 1, whitespace as 2, "=" as 3.
 * One pass over the string checks it; no regex, no whitespace-stripped copy.
 */
const BASE64_CLASS = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
  BASE64_CLASS[c.charCodeAt(0)] = 1;
for (const c of " \t\n\v\f\r") BASE64_CLASS[c.charCodeAt(0)] = 2;
BASE64_CLASS[61] = 3;

/**
 * Decodes base64 (either alphabet; Node's decoder takes both and skips whitespace and any
 * other character). Padded text of whole quads decodes to exactly 3 bytes a quad less its
 * padding only if every character is valid (each skipped one costs a byte): that check is
 * the fast path; anything else is checked character by character.
 */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, "base64");
  const length = text.length;
  if (length % 4 === 0) {
    const padding = text.charCodeAt(length - 1) === 61 ? (text.charCodeAt(length - 2) === 61 ? 2 : 1) : 0;
    if (bytes.length === (length / 4) * 3 - padding) return bytes;
  }
  return isBase64(text) ? bytes : undefined;
}

/** Is `text` base64 (either alphabet), with at most two "=" at its end, whitespace anywhere? */
function isBase64(text: string): boolean {
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const kind = code < 128 ? BASE64_CLASS[code]! : 0;
    if (kind === 1) {
      if (padding > 0) return false;
    } else if (kind === 3) {
      if (++padding > 2) return false;
    } else if (kind !== 2) {
      return false;
    }
  }
  return true;
}

/** Parses one fixture record (already JSON-decoded). `line` is used in error messages. */
function parseFixtureRecord(record: unknown, line: number): FixtureEntry {
  const fail = (error: string): FixtureEntry => ({ kind: "error", line, error: `line ${line}: ${error}` });
  if (typeof record !== "object" || record === null || Array.isArray(record))
    return fail("expected a JSON object");
  const r = record as Record<string, unknown>;
  if (typeof r.topic !== "string" || r.topic === "") return fail('"topic" must be a non-empty string');
  let payload: Uint8Array;
  if (typeof r.payload_b64 === "string") {
    const decoded = decodeBase64(r.payload_b64);
    if (decoded === undefined) return fail('"payload_b64" is not valid base64');
    payload = decoded;
  } else if (typeof r.payload === "string") {
    payload = Buffer.from(r.payload, "utf8");
  } else if (r.payload_b64 === undefined && r.payload === undefined) {
    payload = new Uint8Array(0);
  } else {
    return fail('"payload_b64" must be a base64 string');
  }
  const qos = r.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) return fail('"qos" must be 0, 1 or 2');
  const retain = r.retain ?? false;
  if (typeof retain !== "boolean") return fail('"retain" must be true or false');
  const at = parseAt(r.at);
  if (at === undefined) return fail('"at" must be an ISO-8601 time or milliseconds since epoch');
  const message: MqttMessage = { topic: r.topic, payload, qos, retain, at };
  if (typeof r.broker === "string") message.broker = r.broker;
  return { kind: "message", line, message };
}

/** The last time string parsed: a recording has many messages a millisecond. */
let lastAt: { text: string; ms: number | undefined } = { text: "", ms: undefined };

function parseAt(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    if (value === lastAt.text) return lastAt.ms;
    const ms = Date.parse(value);
    lastAt = { text: value, ms: Number.isNaN(ms) ? undefined : ms };
    return lastAt.ms;
  }
  return undefined;
}

/** Formats a message as one fixture line (without the newline). */
export function formatFixtureLine(message: MqttMessage): string {
  const record: Record<string, unknown> = {
    at: new Date(message.at).toISOString(),
    topic: message.topic,
    qos: message.qos,
    retain: message.retain,
    payload_b64: Buffer.from(
      message.payload.buffer,
      message.payload.byteOffset,
      message.payload.byteLength,
    ).toString("base64"),
  };
  if (message.broker !== undefined) record.broker = message.broker;
  return JSON.stringify(record);
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Opens a fixture as a text stream, gunzipping when the content is gzip. */
async function openFixtureText(path: string): Promise<Readable> {
  const raw = createReadStream(path);
  if (!(await isGzip(path))) return raw;
  const gunzip = createGunzip();
  raw.on("error", (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/**
 * Splits a byte stream into lines (\n, \r\n or a lone \r, as readline does): each chunk is
 * cut after its last \n byte (so no UTF-8 character is split), its complete lines decoded as
 * one string and split there; the rest waits for the next chunk. No per-line regex, no
 * per-line decode, and a chunk's lines come out together.
 */
async function* linesOf(input: Readable): AsyncGenerator<string[]> {
  let carry: Buffer | undefined;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      carry = carry === undefined ? Buffer.from(chunk) : Buffer.concat([carry, chunk]);
      continue;
    }
    const complete = chunk.subarray(0, last);
    const text = (carry === undefined ? complete : Buffer.concat([carry, complete])).toString("utf8");
    carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : undefined;
    yield splitLines(text);
  }
  if (carry !== undefined && carry.length > 0) yield splitLines(carry.toString("utf8"));
}

/** Text of whole lines (without the final newline) as readline's lines: \r\n and a lone \r end one too. */
function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (!text.includes("\r")) return lines;
  const out: string[] = [];
  for (const line of lines) {
    const end = line.endsWith("\r") ? line.length - 1 : line.length;
    const body = end === line.length ? line : line.slice(0, end);
    if (body.includes("\r")) out.push(...body.split("\r"));
    else out.push(body);
  }
  return out;
}

/**
 * Reads a fixture file entry by entry, streaming JSON Lines (so a million-message file is
 * never held in memory) and falling back to a whole-document parse for the wrapped form.
 * Bad lines become error entries; only an unreadable file rejects.
 */
export async function* readFixture(path: string): AsyncGenerator<FixtureEntry> {
  for await (const entries of readFixtureChunks(path)) yield* entries;
}

/** `readFixture`, the entries of each chunk of the file together (one await per chunk, not per line). */
export async function* readFixtureChunks(path: string): AsyncGenerator<FixtureEntry[]> {
  let lineNumber = 0;
  let sawContent = false;
  let documentLines: string[] | undefined;
  for await (const lines of linesOf(await openFixtureText(path))) {
    const entries: FixtureEntry[] = [];
    for (const text of lines) {
      lineNumber++;
      if (documentLines !== undefined) {
        documentLines.push(text);
        continue;
      }
      const trimmed = text.trim();
      if (trimmed === "") continue;
      const first = !sawContent;
      sawContent = true;
      let record: unknown;
      try {
        record = JSON.parse(trimmed);
      } catch {
        if (first && (trimmed[0] === "[" || trimmed[0] === "{")) {
          // A pretty-printed document (the {"messages": […]} wrapper): collect it whole.
          documentLines = [text];
          continue;
        }
        entries.push({ kind: "error", line: lineNumber, error: `line ${lineNumber}: not valid JSON` });
        continue;
      }
      const wrapped = unwrap(record);
      if (wrapped) entries.push(...entriesOf(wrapped, lineNumber));
      else entries.push(parseFixtureRecord(record, lineNumber));
    }
    if (entries.length > 0) yield entries;
  }
  if (documentLines !== undefined) {
    let document: unknown;
    try {
      document = JSON.parse(documentLines.join("\n"));
    } catch (e) {
      yield [
        { kind: "error", line: 1, error: `fixture document is not valid JSON: ${(e as Error).message}` },
      ];
      return;
    }
    const wrapped = unwrap(document);
    if (!wrapped) {
      yield [{ kind: "error", line: 1, error: 'fixture document must be {"messages": [...]} or JSON Lines' }];
      return;
    }
    yield [...entriesOf(wrapped, 1)];
  }
}

function unwrap(record: unknown): unknown[] | undefined {
  if (Array.isArray(record)) return record;
  if (
    typeof record === "object" &&
    record !== null &&
    Array.isArray((record as { messages?: unknown }).messages)
  ) {
    return (record as { messages: unknown[] }).messages;
  }
  return undefined;
}

function* entriesOf(records: unknown[], line: number): Generator<FixtureEntry> {
  for (const [i, record] of records.entries()) {
    const entry = parseFixtureRecord(record, line);
    if (entry.kind === "error") entry.error = `${entry.error} (message ${i})`;
    yield entry;
  }
}

/** Reads a whole fixture, returning its messages and the errors of its bad lines. */
export async function loadFixture(path: string): Promise<{ messages: MqttMessage[]; errors: string[] }> {
  const messages: MqttMessage[] = [];
  const errors: string[] = [];
  for await (const entry of readFixture(path)) {
    if (entry.kind === "message") messages.push(entry.message);
    else errors.push(entry.error);
  }
  return { messages, errors };
}

/** Writes messages to a fixture file, gzip-compressed when the path ends in `.gz`. */
export class FixtureWriter {
  private constructor(
    private readonly sink: Writable,
    private readonly file: WriteStream,
  ) {}

  static create(path: string): FixtureWriter {
    const file = createWriteStream(path);
    if (!path.endsWith(".gz")) return new FixtureWriter(file, file);
    const gzip = createGzip();
    gzip.pipe(file);
    return new FixtureWriter(gzip, file);
  }

  /** Appends one message; resolves when the stream can take more (back-pressure). */
  async write(message: MqttMessage): Promise<void> {
    if (!this.sink.write(`${formatFixtureLine(message)}\n`)) {
      await new Promise<void>((resolve) => this.sink.once("drain", resolve));
    }
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    this.sink.end();
    await finished(this.file);
  }
}
