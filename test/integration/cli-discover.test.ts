import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestAgent } from "../support/akri-agent.js";
import { CliProcess, jsonLines, runCli } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode } from "../support/tahu-edge.js";

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

describe("exit codes", () => {
  it("serve exits 1 with a one-line reason when it cannot start (its HTTP port is taken)", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-exit-"));
      const result = await runCli(["serve", "--http-port", String(port), "--http-host", "127.0.0.1"], {
        env: { DISCOVERY_HANDLERS_DIRECTORY: directory, AGENT_NODE_NAME: "node-x" },
        timeoutMs: 15_000,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `akri-mqtt: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      );
    } finally {
      taken.close();
    }
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
    const recording = new CliProcess(["record", "--broker", broker.url, "--out", out, "--duration", "3"]);
    // Its ready signal: subscribed.
    await eventually(() => recording.stderr.includes('"msg":"recording"'), "record to subscribe");
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
    await recording.exited();
    expect(recording.exitCode).toBe(0);
    const original = jsonLines(await readFile("test/fixtures/tahu/session.jsonl", "utf8"));
    const inspected = jsonLines((await runCli(["inspect", out])).stdout);
    expect(inspected.map((l) => l.topic)).toStrictEqual(original.map((l) => l.topic));
  });

  it("replay --loop publishes the fixture again and again, in order, until stopped", async () => {
    const topics = jsonLines(await readFile("test/fixtures/tahu/session.jsonl", "utf8")).map((l) =>
      String(l.topic),
    );
    const watcher = await mqtt.connectAsync(broker.url, { clientId: "loop-watcher" });
    const received: string[] = [];
    watcher.on("message", (topic) => received.push(topic));
    await watcher.subscribeAsync(["spBv1.0/#", "STATE/#"], { qos: 1 });
    const replay = new CliProcess([
      "replay",
      "test/fixtures/tahu/session.jsonl",
      "--broker",
      broker.url,
      "--as-fast-as-possible",
      "--loop",
    ]);
    try {
      await eventually(() => received.length >= 3 * topics.length, "three passes", 15_000);
    } finally {
      await replay.stop();
      await watcher.endAsync();
    }
    expect(received.slice(0, 3 * topics.length)).toStrictEqual([...topics, ...topics, ...topics]);
    expect(replay.exitCode).toBe(0);
    expect(replay.stderr).toMatch(/replayed \d+ message\(s\) into/);
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

  it("two discover processes beside a running handler on one host each keep their own connection and list the devices", async () => {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-beside-"));
    const details = join(dir, "details.yaml");
    const yaml = `serverUrls: [${broker.url}]\nsparkplug: {groupIds: {action: Include, items: [Beside]}}\n`;
    await writeFile(details, yaml);
    // One host: the handler's pod and two people debugging inside it share a host name.
    const host = { HOSTNAME: "akri-mqtt-discovery-daemonset-z9x8c", AGENT_NODE_NAME: "" };
    const agent = new TestAgent(dir);
    await agent.start();
    const handler = await HandlerProcess.start(dir, host);
    const people: CliProcess[] = [];
    let node: TahuEdgeNode | undefined;
    try {
      const registered = await agent.waitForRegistrations(1);
      const call = agent.discover(registered, yaml);
      people.push(new CliProcess(["discover", "--details", details, "--json"], host));
      people.push(new CliProcess(["discover", "--details", details, "--json"], host));
      const listed = (p: CliProcess) => jsonLines(p.stdout).at(-1)?.devices as { id: string }[] | undefined;
      await eventually(() => people.every((p) => listed(p) !== undefined), "both first lists", 10_000);
      node = await TahuEdgeNode.start({
        url: broker.url,
        group: "Beside",
        edge: "E",
        devices: { Motor: [{ name: "Speed", alias: 1, type: "Double", value: 1 }] },
      });
      const motor = (devices: { id: string }[] | undefined) =>
        JSON.stringify(devices?.map((d) => d.id)) === '["spBv1.0/Beside/E/Motor"]';
      await eventually(() => people.every((p) => motor(listed(p))), "both discovers to list Motor", 10_000);
      await call.waitForIds(["spBv1.0/Beside/E/Motor"], "the handler to list Motor");
      await new Promise((r) => setTimeout(r, 2000));
      // Nobody threw anybody off the broker.
      const clientIds = [handler.output, ...people.map((p) => p.stderr)].map((log) =>
        log
          .split("\n")
          .filter((l) => l.includes('"msg":"connected to broker"'))
          .map((l) => (JSON.parse(l) as { clientId: string }).clientId),
      );
      expect(clientIds.map((ids) => ids.length)).toStrictEqual([1, 1, 1]);
      expect(new Set(clientIds.flat()).size).toBe(3);
      for (const log of [handler.output, ...people.map((p) => p.stderr)])
        expect(log).not.toContain("lost the broker connection");
      call.cancel();
    } finally {
      await node?.stop();
      for (const p of people) await p.stop();
      await handler.stop();
      await agent.stop();
    }
  }, 60_000);
});

describe("akri-mqtt demo (npm start)", () => {
  it("shows devices during an 8-second run", async () => {
    const result = await runCli(["demo", "--json", "--duration", "8"], { timeoutMs: 30_000 });
    expect(result.code).toBe(0);
    const lists = jsonLines(result.stdout) as { devices: { id: string }[] }[];
    const withDevices = lists.find((l) => l.devices.length > 100);
    expect(withDevices, result.stderr).toBeDefined();
    expect(withDevices?.devices[0]?.id).toMatch(
      // The demo maps birth metrics into properties: their values are part of the id (`#` + 8 hex).
      /^spBv1\.0\/Plant-[ABC]\/Edge-\d\d\/(Motor|Sensor|Valve)-\d\d#[0-9a-f]{8}$/,
    );
  });

  it("spreads the plant over two embedded brokers with --brokers 2, every device with both in its properties", async () => {
    const result = await runCli(["demo", "--json", "--duration", "8", "--brokers", "2"], {
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const lists = jsonLines(result.stdout) as { devices: { properties: Record<string, string> }[] }[];
    const last = lists.at(-1)!;
    const brokers = (last.devices[0]?.properties.MQTT_BROKER_URIS ?? "").split(" ");
    expect(new Set(brokers).size, JSON.stringify(brokers)).toBe(2);
    // Properties never say where a device is now (they would change when its node moves):
    // every device has the first broker as MQTT_BROKER_URI and both in MQTT_BROKER_URIS.
    for (const device of last.devices) {
      expect(device.properties.MQTT_BROKER_URI).toBe(brokers[0]);
      expect(device.properties.MQTT_BROKER_URIS).toBe(brokers.join(" "));
      expect(device.properties.MQTT_BROKER_NAMES).toBe("1 2");
    }
  });
});
