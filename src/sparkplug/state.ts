/*
 * Host application STATE payloads. 3.0: UTF-8 JSON {"online": boolean, "timestamp": ms}
 * on spBv1.0/STATE/<host>, extra keys tolerated (3.0 drafts briefly carried bdSeq).
 * 2.2: the plain strings ONLINE / OFFLINE on STATE/<host>.
 */

export interface HostState {
  online: boolean;
  /** 3.0 only: the host's connect time, used to discard an offline older than the last online. */
  timestamp?: number;
}

export type StateParseResult = { ok: true; state: HostState } | { ok: false; error: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a STATE payload of the given spec version. */
export function parseStatePayload(bytes: Uint8Array, version: "3.0" | "2.2"): StateParseResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, error: "STATE payload is not valid UTF-8" };
  }
  if (version === "2.2") {
    const word = text.trim();
    if (word === "ONLINE") return { ok: true, state: { online: true } };
    if (word === "OFFLINE") return { ok: true, state: { online: false } };
    return {
      ok: false,
      error: `2.2 STATE payload must be ONLINE or OFFLINE, found ${JSON.stringify(word.slice(0, 40))}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: "3.0 STATE payload is not JSON" };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, error: "3.0 STATE payload must be a JSON object" };
  }
  const { online, timestamp } = json as { online?: unknown; timestamp?: unknown };
  if (typeof online !== "boolean") return { ok: false, error: '3.0 STATE key "online" must be a boolean' };
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp)) {
    return { ok: false, error: '3.0 STATE key "timestamp" must be a number (ms since epoch)' };
  }
  return { ok: true, state: { online, timestamp } };
}

/** The 3.0 STATE payload bytes for a host birth (online) or death (offline). */
export function encodeStatePayload(online: boolean, timestamp: number): Uint8Array {
  return Buffer.from(JSON.stringify({ online, timestamp }), "utf8");
}
