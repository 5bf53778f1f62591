/*
 * Reading an MQTT CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1) as it passes through a test proxy:
 * enough to see who connects and what they ask the broker for.
 */

/** What a client asked for in its CONNECT. */
export interface ConnectPacket {
  clientId: string;
  /** 4: MQTT 3.1.1, 5: MQTT 5. */
  level: number;
  /** Clean Start (MQTT 5) or Clean Session (3.1.1). */
  clean: boolean;
  /** MQTT 5's Session Expiry Interval property (0x11), when sent. */
  sessionExpirySeconds: number | undefined;
}

/** A variable byte integer at `at`: its value and length, or undefined if incomplete. */
function varint(buf: Buffer, at: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= buf.length) return undefined;
    const byte = buf[at + i]!;
    value += (byte & 0x7f) * 128 ** i;
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/** MQTT 5 CONNECT properties: the Session Expiry Interval, if among them (the others are skipped by length). */
function sessionExpiry(buf: Buffer, from: number, end: number): number | undefined {
  // Property ids and their value sizes (MQTT 5.0 §2.2.2.2) that a CONNECT may carry.
  const sizes: Record<number, "u8" | "u16" | "u32" | "bin" | "pair"> = {
    17: "u32",
    33: "u16",
    34: "u16",
    39: "u32",
    25: "u8",
    23: "u8",
    21: "bin",
    22: "bin",
    38: "pair",
  };
  let at = from;
  while (at < end) {
    const id = buf[at++]!;
    if (id === 0x11) return buf.readUInt32BE(at);
    const size = sizes[id];
    if (size === "u8") at += 1;
    else if (size === "u16") at += 2;
    else if (size === "u32") at += 4;
    else if (size === "bin") at += 2 + buf.readUInt16BE(at);
    else if (size === "pair") {
      at += 2 + buf.readUInt16BE(at);
      at += 2 + buf.readUInt16BE(at);
    } else return undefined;
  }
  return undefined;
}

/** The CONNECT at the start of `buf`, once all of it has arrived. */
export function parseConnect(buf: Buffer): ConnectPacket | "incomplete" | "not-connect" {
  if (buf.length < 2) return "incomplete";
  if (buf[0] !== 0x10) return "not-connect";
  const remaining = varint(buf, 1);
  if (!remaining) return "incomplete";
  const start = 1 + remaining.length;
  if (buf.length < start + remaining.value) return "incomplete";
  let at = start + 2 + buf.readUInt16BE(start); // protocol name
  const level = buf[at]!;
  const clean = (buf[at + 1]! & 0x02) !== 0;
  at += 1 + 1 + 2; // level, flags, keepalive
  let sessionExpirySeconds: number | undefined;
  if (level === 5) {
    const properties = varint(buf, at)!;
    const from = at + properties.length;
    sessionExpirySeconds = sessionExpiry(buf, from, from + properties.value);
    at = from + properties.value;
  }
  const idLength = buf.readUInt16BE(at);
  return {
    clientId: buf.subarray(at + 2, at + 2 + idLength).toString("utf8"),
    level,
    clean,
    sessionExpirySeconds,
  };
}
