import { createHash } from "node:crypto";

/**
 * The Akri device id of a Sparkplug entity listed with `sparkplug.properties` mappings, by
 * the rule the README documents: the entity id, `#`, and the first 8 hex digits of the
 * SHA-256 of the JSON `[keys, values]` (keys sorted; each value as its property string, null
 * when the birth has no such metric). Written here from that rule, not imported from src/,
 * so that tests hold the documented contract.
 */
export function mappedId(entityId: string, mapped: Record<string, string | null>): string {
  const keys = Object.keys(mapped).sort();
  const values = keys.map((k) => mapped[k]!);
  const digest = createHash("sha256")
    .update(JSON.stringify([keys, values]))
    .digest("hex");
  return `${entityId}#${digest.slice(0, 8)}`;
}
