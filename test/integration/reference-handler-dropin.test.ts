import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DiscoverCall, TestAgent } from "../support/akri-agent.js";
import { CliProcess, jsonLines, ROOT, runCli } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

/*
 * A Configuration written for the reference MQTT handler (suse-edge/akri-mqtt-discovery-handler)
 * works unchanged: its own example, with only the broker address changed, through `serve` with a
 * test agent and through `discover`, against a real Mosquitto. What that handler lists, read from
 * its src/discovery_handler.rs: a device per concrete topic a message came on (retained ones
 * too), with exactly MQTT_TOPIC and MQTT_BROKER_URI, dropped timeoutSeconds after its last message.
 */

const example = readFileSync(join(ROOT, "test/fixtures/details/reference-handler-example.yaml"), "utf8");

describe.skipIf(!mosquittoAvailable())("the reference MQTT handler's Configurations, unchanged", () => {
  let directory: string;
  let handler: HandlerProcess;
  let agent: TestAgent;
  let broker: Mosquitto;
  let publisher: MqttClient;

  /** The example Configuration's discoveryDetails, its broker address changed to the test's. */
  const details = (changes: Record<string, string> = {}) => {
    let text = example.replace("tcp://192.168.1.14:1883", `tcp://127.0.0.1:${broker.port}`);
    for (const [key, value] of Object.entries(changes)) {
      const line = new RegExp(`^${key}: .*$`, "m");
      text = line.test(text) ? text.replace(line, `${key}: ${value}`) : `${text}${key}: ${value}\n`;
    }
    return text;
  };

  /** Publishes until `listed` holds: the handler subscribes at some point after the call, unseen. */
  const publishUntil = async (messages: [string, string][], listed: () => boolean, what: string) => {
    await eventually(
      async () => {
        for (const [topic, payload] of messages) await publisher.publishAsync(topic, payload);
        return listed();
      },
      what,
      10_000,
    );
  };

  const discover = (text: string): DiscoverCall => agent.discover(agent.registrations[0]!, text);

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "akri-reference-"));
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-r" });
    agent = new TestAgent(directory);
    await agent.start();
    await agent.waitForRegistrations(1);
  });

  afterAll(async () => {
    await handler?.stop();
    await agent?.stop();
  });

  // A broker of its own for each case: retained messages of one case are none of the next's business.
  beforeEach(async () => {
    broker = await Mosquitto.start();
    publisher = mqtt.connect(broker.url, { clientId: "reference-publisher" });
    await new Promise<void>((resolve) => publisher.once("connect", () => resolve()));
  });

  afterEach(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });

  it("lists what that handler lists for its own example: each topic, retained ones too, with its two properties", async () => {
    await publisher.publishAsync("hello", "retained before the handler came", { retain: true, qos: 1 });
    const request = agent.apply("akri-mqtt", details());
    await request.waitForIds(["hello"], "the retained message's topic");
    await publishUntil(
      [
        ["goodbye", "see you"],
        ["not-subscribed", "x"],
      ],
      () => request.ids().includes("goodbye"),
      "goodbye listed",
    );
    expect(request.ids()).toStrictEqual(["goodbye", "hello"]);
    const uri = `tcp://127.0.0.1:${broker.port}`;
    expect(request.calls[0]!.lists.at(-1)).toStrictEqual([
      { id: "goodbye", properties: { MQTT_TOPIC: "goodbye", MQTT_BROKER_URI: uri } },
      { id: "hello", properties: { MQTT_TOPIC: "hello", MQTT_BROKER_URI: uri } },
    ]);
    agent.delete("akri-mqtt");
  });

  it("drops a silent device timeoutSeconds after its last message, and keeps one that goes on publishing", async () => {
    const call = discover(details({ timeoutSeconds: "1" }));
    await publishUntil(
      [
        ["hello", "1"],
        ["wow", "1"],
      ],
      () => call.ids().length === 2,
      "hello and wow listed",
    );
    // hello goes on publishing, wow is silent: wow leaves, hello stays.
    await publishUntil([["hello", "2"]], () => call.ids().join() === "hello", "only hello left");
    await call.waitForIds([], "hello too, once silent", 10_000);
    call.cancel();
  });

  it("names properties with propertiesPrefix, and never shows credentials written in the URI", async () => {
    // Mosquitto lets anyone in here, with a user name or without: the URI's login is used and not shown.
    const call = discover(
      details({ mqttBrokerUri: `"tcp://plant:hunter2@127.0.0.1:${broker.port}"`, propertiesPrefix: "akri" }),
    );
    await publishUntil([["wow", "1"]], () => call.ids().length === 1, "wow listed");
    expect(call.lists.at(-1)).toStrictEqual([
      {
        id: "wow",
        properties: { AKRI_MQTT_TOPIC: "wow", AKRI_MQTT_BROKER_URI: `tcp://127.0.0.1:${broker.port}` },
      },
    ]);
    expect(handler.output).not.toContain("hunter2");
    // The broker saw the URI's user name (Mosquitto logs it at connect): the login was used.
    await eventually(() => broker.output.includes("u'plant'"), "a connection as plant");
    call.cancel();
  });

  it("applies messageRegexp to each payload, and says why a topic is left out", async () => {
    const call = discover(details({ messageRegexp: '"temp=[0-9]+"' }));
    await publishUntil(
      [
        ["hello", "status ok"],
        ["goodbye", "reading temp=21 C"],
      ],
      () => call.ids().length > 0,
      "a matching payload listed",
    );
    expect(call.ids()).toStrictEqual(["goodbye"]);
    const streams = JSON.parse((await handler.get("/devices?all=true")).body) as {
      unlisted: { id: string; reason: { code: string } }[];
    }[];
    expect(streams.flatMap((s) => s.unlisted).map((u) => [u.id, u.reason.code])).toContainEqual([
      "hello",
      "payload-not-matched",
    ]);
    call.cancel();
  });

  it.each([
    [
      { mqttBrokerUri: '"ws://127.0.0.1:8000"' },
      'mqttBrokerUri: scheme must be one of mqtt, tcp, mqtts, ssl, got "ws"',
    ],
    [{ timeoutSeconds: "-1" }, "timeoutSeconds: expected a number >= 0, got -1"],
    [{ messageRegexp: '"(a)\\\\1"' }, "messageRegexp: not an RE2 pattern"],
    [{ messageRegexp: '"(?<=x)a"' }, "messageRegexp: not an RE2 pattern"],
    [{ topics: "[]" }, "topics: required (expected a list of MQTT topic filters)"],
  ])("refuses %j with INVALID_ARGUMENT naming the key", async (changes, message) => {
    const call = discover(details(changes));
    const error = await call.waitForError();
    expect(error.code).toBe(3);
    expect(error.details).toContain(message);
  });

  it("works the same through discover, with --explain's reasons", async () => {
    await publisher.publishAsync("hello", "status ok", { retain: true, qos: 1 });
    await publisher.publishAsync("goodbye", "temp=20", { retain: true, qos: 1 });
    const file = join(directory, "reference.yaml");
    await writeFile(file, details({ messageRegexp: '"temp=[0-9]+"' }));
    const cli = new CliProcess(["discover", "--details", file, "--json", "--explain"]);
    type Line = {
      devices: { id: string; properties: Record<string, string> }[];
      unlisted: { id: string; reason: { code: string } }[];
    };
    const lines = () => jsonLines(cli.stdout) as Line[];
    try {
      await eventually(() => lines().some((l) => l.devices.length === 1), "the retained goodbye", 10_000);
      // A later list says why hello is not listed (the reasons go out with each list).
      await publishUntil(
        [["wow", "temp=1"]],
        () => lines().some((l) => l.devices.length === 2),
        "wow listed",
      );
      const last = lines().at(-1)!;
      expect(last.devices).toStrictEqual([
        {
          id: "goodbye",
          properties: { MQTT_TOPIC: "goodbye", MQTT_BROKER_URI: `tcp://127.0.0.1:${broker.port}` },
        },
        { id: "wow", properties: { MQTT_TOPIC: "wow", MQTT_BROKER_URI: `tcp://127.0.0.1:${broker.port}` } },
      ]);
      expect(last.unlisted.map((u) => [u.id, u.reason.code])).toStrictEqual([
        ["hello", "payload-not-matched"],
      ]);
    } finally {
      await cli.stop();
    }
    await writeFile(file, details({ timeoutSeconds: "soon" }));
    const refused = await runCli(["discover", "--details", file, "--json"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('timeoutSeconds: expected a number, got "soon"');
  });
});
