import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseDiscoveryDetails } from "../../../src/discovery/modes/modes.js";
import { ROOT } from "../../support/cli.js";

/*
 * deploy/examples/sparkplug-sharded.yaml: one plant over 8 Configurations. The checks every
 * example gets (test/unit/deploy/akri-chart-facts.test.ts, test/integration/deployment.test.ts)
 * read its first Configuration; these read all 8, which must cover the plant: shards 0 to 7
 * of 8, each once, and otherwise the same Configuration.
 */

describe("deploy/examples/sparkplug-sharded.yaml", () => {
  it("has 8 Configurations, shards 0 to 7 of 8, that differ only in name and index", async () => {
    const text = await readFile(join(ROOT, "deploy/examples/sparkplug-sharded.yaml"), "utf8");
    const configurations = parseAllDocuments(text)
      .map((d) => d.toJS())
      .filter((d) => d?.kind === "Configuration");
    expect(configurations).toHaveLength(8);
    const shards = configurations.map((c) => {
      const parsed = parseDiscoveryDetails(c.spec.discoveryHandler.discoveryDetails);
      if (!parsed.ok) throw new Error(parsed.error);
      expect(parsed.warnings).toStrictEqual([]);
      if (parsed.details.mode !== "sparkplug") throw new Error(`mode ${parsed.details.mode}`);
      // Instance names are shown by the Configuration's name: it must be this one's.
      expect(parsed.details.configurationName).toBe(c.metadata.name);
      return parsed.details.sparkplug.shard;
    });
    expect(shards).toStrictEqual(Array.from({ length: 8 }, (_, index) => ({ count: 8, index })));
    expect(new Set(configurations.map((c) => c.metadata.name)).size).toBe(8);
    const generic = (c: { metadata: { name: string } }, i: number) =>
      JSON.stringify(c).replaceAll(c.metadata.name, "NAME").replace(`index: ${i}}`, "index: I}");
    expect(new Set(configurations.map(generic)).size).toBe(1);
  });
});
