import { RE2JS } from "re2js";
import { z } from "zod";

/*
 * A payload filter from a Configuration: an RE2 pattern searched anywhere in each payload read
 * as UTF-8 (unanchored, as the Rust `regex` crate's is_match). The pattern is written by whoever
 * edits the Configuration and runs on every message from the plant, so it must take linear time
 * whatever the payload: RE2 semantics (re2js, no backtracking), which refuse what cannot run in
 * linear time (backreferences, lookaround). A refused pattern is an error naming its key.
 */

export interface PayloadFilter {
  /** The key that set it (messageRegexp, payloadRegexp): reasons name it. */
  readonly key: string;
  readonly pattern: string;
  /** Whether the pattern occurs in the payload. */
  matches(payload: Uint8Array): boolean;
}

/** A key whose value is an RE2 pattern, parsed into a filter (refused with RE2's reason). */
export function payloadFilterKey(key: string) {
  return z
    .string()
    .min(1)
    .transform((pattern, ctx): PayloadFilter => {
      let compiled: RE2JS;
      try {
        compiled = RE2JS.compile(pattern);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          message: `not an RE2 pattern (no backreferences or lookaround): ${e instanceof Error ? e.message : String(e)}`,
        });
        return z.NEVER;
      }
      // Searched in the decoded text (invalid UTF-8 reads as U+FFFD, as Rust's from_utf8_lossy):
      // re2js finds a literal in a string with the engine's own indexOf, many times faster
      // than in bytes, and decoding costs less than a scan.
      return {
        key,
        pattern,
        matches: (payload) =>
          compiled.test(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8")),
      };
    })
    .optional();
}
