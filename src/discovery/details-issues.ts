import type { z } from "zod";

/*
 * How a discoveryDetails problem reads to the person who wrote it: a zod issue as "key: what
 * was expected, what was found", and a warning for every key nothing reads (a typo would
 * otherwise pass silently). Shared by the common keys and every mode's.
 */

/** Known keys by dotted path ("" for the top level, "brokers[]" for each item of a list). */
export type KnownKeys = Record<string, ReadonlySet<string>>;

/** Warnings for keys not in `known[path]`; `shown` is the path as the user wrote it (with indexes). */
export function unknownKeys(value: unknown, known: KnownKeys, path = "", shown = path): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  const here = known[path];
  if (!here) return [];
  const warnings: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === "" ? key : `${path}.${key}`;
    const childShown = shown === "" ? key : `${shown}.${key}`;
    if (!here.has(key)) warnings.push(`unknown key ${childShown} is ignored`);
    else if (Array.isArray(child) && known[`${childPath}[]`])
      for (const [i, item] of child.entries())
        warnings.push(...unknownKeys(item, known, `${childPath}[]`, `${childShown}[${i}]`));
    else warnings.push(...unknownKeys(child, known, childPath, childShown));
  }
  return warnings;
}

/** A value as a message shows what was found. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return JSON.stringify(value);
}

function issuePath(path: PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

/** A zod issue as "key: what was expected, what was found". */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issuePath(issue.path) || "discoveryDetails";
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `${path}: required (expected ${article(issue.expected)})`;
      return `${path}: expected ${article(issue.expected)}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(issue.input)}`;
    case "invalid_union":
      return `${path}: expected ${path === "mqttVersion" ? "3 or 5" : "a different value"}, got ${describeValue(issue.input)}`;
    case "too_small":
      if (issue.origin === "array") return `${path}: expected at least ${issue.minimum} item(s)`;
      if (issue.origin === "string") return `${path}: expected a non-empty string`;
      return `${path}: expected a number ${issue.inclusive ? ">=" : ">"} ${issue.minimum}, got ${describeValue(issue.input)}`;
    case "too_big":
      if (issue.origin === "string") return `${path}: expected at most ${issue.maximum} characters`;
      return `${path}: expected a number <= ${issue.maximum}, got ${describeValue(issue.input)}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

function article(expected: string): string {
  const words: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a map",
    record: "a map",
  };
  return words[expected] ?? expected;
}
