import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../support/cli.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

const FIXTURES = [
  "tahu/session.jsonl",
  "stale-ndeath.jsonl",
  "ndeath-without-bdseq.jsonl",
  "seq-wrap-and-gaps.jsonl",
  "alias-only-data.jsonl",
  "data-before-birth.jsonl",
  "late-dbirth.jsonl",
  "template-in-dbirth.jsonl",
  "host-state.jsonl",
  "retained-nbirth.jsonl",
  "random-bytes.jsonl",
  "truncated-payload.jsonl",
  "bad-topics.jsonl",
  "compressed.jsonl",
  "all-datatypes.jsonl",
];

describe("akri-mqtt discover --replay", () => {
  it.each(FIXTURES)("%s gives the same JSON lines on every run", async (fixture) => {
    const args = [
      "discover",
      "--details",
      "test/fixtures/details/sparkplug-both.yaml",
      "--replay",
      `test/fixtures/${fixture}`,
      "--json",
      "--once",
    ];
    const first = await runCli(args);
    const second = await runCli(args);
    expect(first.code).toBe(0);
    expect(first.stdout.length).toBeGreaterThan(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it("shows what the Tahu recording discovers, list by list", async () => {
    const result = await runCli([
      "discover",
      "--details",
      "test/fixtures/details/sparkplug-both.yaml",
      "--replay",
      "test/fixtures/tahu/session.jsonl",
      "--json",
    ]);
    const lists = jsonLines(result.stdout) as {
      devices: { id: string; properties: Record<string, string> }[];
    }[];
    expect(lists.map((l) => l.devices.map((d) => d.id))).toStrictEqual([
      [
        "spBv1.0/Plant1/Line1",
        "spBv1.0/Plant1/Line1/Motor1",
        "spBv1.0/Plant1/Line2",
        "spBv1.0/Plant1/Line2/Pump1",
      ],
      ["spBv1.0/Plant1/Line1", "spBv1.0/Plant1/Line1/Motor1"],
      [],
    ]);
    expect(lists[0]?.devices[1]).toStrictEqual({
      id: "spBv1.0/Plant1/Line1/Motor1",
      properties: {
        MQTT_BROKER_URI: "tcp://mosquitto.iot:1883",
        SPARKPLUG_GROUP_ID: "Plant1",
        SPARKPLUG_EDGE_NODE_ID: "Line1",
        SPARKPLUG_DEVICE_ID: "Motor1",
        SPARKPLUG_DATA_TOPIC: "spBv1.0/Plant1/DDATA/Line1/Motor1",
      },
    });
  });

  it("prints a table with Akri instance names without --json", async () => {
    const result = await runCli([
      "discover",
      "--details",
      "test/fixtures/details/sparkplug-both.yaml",
      "--replay",
      "test/fixtures/tahu/session.jsonl",
      "--configuration",
      "sparkplug",
    ]);
    expect(result.stdout).toContain("AKRI INSTANCE");
    expect(result.stdout).toMatch(
      /spBv1\.0\/Plant1\/Line1\/Motor1\s+device\s+online\s+sparkplug-[0-9a-f]{6}/,
    );
  });

  it("exits 2 naming the offending key of bad details", async () => {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-details-"));
    const path = join(dir, "bad.yaml");
    await writeFile(path, "serverUrls: [tcp://a]\nsparkplug: {discover: all}\n");
    const result = await runCli([
      "discover",
      "--details",
      path,
      "--replay",
      "test/fixtures/stale-ndeath.jsonl",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `akri-mqtt: ${path}: sparkplug.discover: expected one of "devices", "nodes", "both", got "all"\n`,
    );
  });
});

describe.skipIf(!mosquittoAvailable())("record, replay and live discover through Mosquitto", () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await Mosquitto.start();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("records what replay publishes, message for message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-record-"));
    const out = join(dir, "recorded.jsonl.gz");
    const recording = runCli(["record", "--broker", broker.url, "--out", out, "--duration", "3"], {
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 800));
    const replayed = await runCli([
      "replay",
      "test/fixtures/tahu/session.jsonl",
      "--broker",
      broker.url,
      "--speed",
      "4",
    ]);
    expect(replayed.code).toBe(0);
    expect(replayed.stderr).toContain("replayed 12 message(s)");
    const recorded = await recording;
    expect(recorded.code).toBe(0);
    const original = jsonLines(await readFile("test/fixtures/tahu/session.jsonl", "utf8"));
    const inspected = jsonLines((await runCli(["inspect", out])).stdout);
    expect(inspected.map((l) => l.topic)).toStrictEqual(original.map((l) => l.topic));
  });

  it("discovers live from the brokers in the details and exits after the first settled list with --once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-live-"));
    const details = join(dir, "details.yaml");
    await writeFile(details, `serverUrls: [${broker.url}]\ntopics: [robots/+/joints]\n`);
    const result = await runCli(["discover", "--details", details, "--json", "--once"], {
      timeoutMs: 15_000,
    });
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)).toStrictEqual([{ devices: [] }]);
  });
});

describe("akri-mqtt demo (npm start)", () => {
  it("shows devices within 10 seconds", async () => {
    const started = Date.now();
    const result = await runCli(["demo", "--json", "--duration", "8"], { timeoutMs: 30_000 });
    expect(result.code).toBe(0);
    const lists = jsonLines(result.stdout) as { devices: { id: string }[] }[];
    const withDevices = lists.find((l) => l.devices.length > 100);
    expect(withDevices, result.stderr).toBeDefined();
    expect(withDevices?.devices[0]?.id).toMatch(
      /^spBv1\.0\/Plant-[ABC]\/Edge-\d\d\/(Motor|Sensor|Valve)-\d\d$/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
