import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadFixture } from "../../src/streams/fixture-file.js";
import { buildQuirkFixtures } from "../fixtures/build-quirks.js";

describe("the committed test fixtures", () => {
  const built = buildQuirkFixtures();

  it.each(Object.keys(built))("%s is what build-quirks.ts makes", (name) => {
    const committed = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
    expect(committed).toBe(built[name]);
  });

  it("include a Tahu recording that parses cleanly", async () => {
    const { messages, errors } = await loadFixture(
      new URL("../fixtures/tahu/session.jsonl", import.meta.url).pathname,
    );
    expect(errors).toStrictEqual([]);
    expect(messages.length).toBeGreaterThanOrEqual(12);
  });
});
