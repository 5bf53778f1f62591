import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatFixtureLine } from "../../src/streams/fixture-file.js";
import { jsonLines, runCli } from "../support/cli.js";
import { plantBirths } from "../support/plant-births.js";

/*
 * `akri-mqtt discover --explain` over a plant split in 8 shards, each run a process of its
 * own: a fresh process puts each edge node in the shard the hash's golden values say
 * (Plant1/Line1 in 5, Plant0/Edge0000 in 3: test/unit/discovery/sparkplug/shards.test.ts),
 * and explains the other shard's entities as in-another-shard.
 */

interface Explained {
  devices: { id: string }[];
  unlisted: { id: string; kind: string; status: string; reason: { code: string; message: string } }[];
}

describe("akri-mqtt discover with sparkplug.shard", () => {
  let directory: string;
  const T0 = Date.UTC(2026, 0, 5, 10);

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "akri-shards-"));
    const births = plantBirths(
      [
        ["Plant1", "Line1"],
        ["Plant0", "Edge0000"],
      ],
      2,
      T0,
    );
    const lines = births.map((p, i) => formatFixtureLine({ ...p, retain: false, at: T0 + 10 * (i + 1) }));
    await writeFile(join(directory, "plant.jsonl"), `${lines.join("\n")}\n`);
  });

  const discover = async (index: number, json: boolean) => {
    const file = join(directory, `shard-${index}.yaml`);
    await writeFile(
      file,
      `serverUrls: [tcp://plant:1883]\nsparkplug:\n  shard: {count: 8, index: ${index}}\n`,
    );
    const args = [
      "discover",
      "--details",
      file,
      "--replay",
      join(directory, "plant.jsonl"),
      "--explain",
      "--once",
    ];
    const result = await runCli(json ? [...args, "--json"] : args);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  it("lists only its shard's devices and explains the others as in-another-shard", async () => {
    const last = jsonLines(await discover(3, true)).at(-1) as unknown as Explained;
    expect(last.devices.map((d) => d.id)).toStrictEqual([
      "spBv1.0/Plant0/Edge0000/Device00",
      "spBv1.0/Plant0/Edge0000/Device01",
    ]);
    const reason = {
      code: "in-another-shard",
      message: "edge node Plant1/Line1 is in shard 5 of 8; this Configuration lists shard 3",
    };
    // Its edge node too: the shard leaves the node out before the kind discovered does.
    expect(last.unlisted.filter((u) => u.id.startsWith("spBv1.0/Plant1/"))).toStrictEqual([
      { id: "spBv1.0/Plant1/Line1", kind: "sparkplug-node", status: "online", reason },
      { id: "spBv1.0/Plant1/Line1/Device00", kind: "sparkplug-device", status: "online", reason },
      { id: "spBv1.0/Plant1/Line1/Device01", kind: "sparkplug-device", status: "online", reason },
    ]);
  });

  it("the other node's shard lists it, and the table says why the rest is not listed", async () => {
    const last = jsonLines(await discover(5, true)).at(-1) as unknown as Explained;
    expect(last.devices.map((d) => d.id)).toStrictEqual([
      "spBv1.0/Plant1/Line1/Device00",
      "spBv1.0/Plant1/Line1/Device01",
    ]);
    const table = await discover(5, false);
    expect(table).toMatch(
      /spBv1\.0\/Plant0\/Edge0000\/Device00\s+device\s+online\s+in-another-shard\s+edge node Plant0\/Edge0000 is in shard 3 of 8; this Configuration lists shard 5/,
    );
  });
});
