import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiscoverCall, type Registered, TestAgent } from "../support/akri-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * Several Configurations over one plant, one broker and one Sparkplug host id (a user writes
 * one per device class): `akri-mqtt serve` is ONE Sparkplug host for all of them (one STATE,
 * one rebirth policy), and each Configuration lists only its own view. A watcher of our own
 * counts what the host publishes, as another host application on the broker would see it.
 */

const STATE_TOPIC = "spBv1.0/STATE/akri-mqtt-node-a";
const pump: TahuMetric[] = [{ name: "Flow", alias: 1, type: "Double", value: 1 }];
const motor: TahuMetric[] = [{ name: "Speed", alias: 2, type: "Double", value: 1 }];

const detailsFor = (url: string, name: string, extra: string) =>
  `serverUrls: [${url}]\nconfigurationName: ${name}\nsparkplug:\n${extra}`;

describe.skipIf(!mosquittoAvailable())("one Sparkplug host for every Configuration that names it", () => {
  let broker: Mosquitto;
  let agent: TestAgent;
  let handler: HandlerProcess;
  let registered: Registered;
  let watcher: MqttClient;
  let edge: TahuEdgeNode;
  let pumps: DiscoverCall;
  let motors: DiscoverCall;
  let traffic: NodeJS.Timeout | undefined;
  /** STATE messages (live, not retained) and rebirth requests, as published. */
  const states: { online: boolean; timestamp: number }[] = [];
  const rebirths: string[] = [];
  const ownStates: unknown[] = [];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    watcher = await mqtt.connectAsync(broker.url, { clientId: "watcher" });
    watcher.on("message", (topic, payload, packet) => {
      if (topic === STATE_TOPIC && !packet.retain) states.push(JSON.parse(payload.toString()));
      if (topic === "spBv1.0/STATE/sensors-node-a") ownStates.push(payload.toString());
      if (topic.includes("/NCMD/")) rebirths.push(topic);
    });
    await watcher.subscribeAsync(["spBv1.0/STATE/#", "spBv1.0/+/NCMD/#"], { qos: 1 });
    // Born before the handler listens: its DATA comes from a node no host knows, which asks for a rebirth.
    edge = await TahuEdgeNode.start({
      url: broker.url,
      group: "Plant",
      edge: "Line1",
      devices: { Pump: pump, Motor: motor },
    });
    traffic = setInterval(
      () => edge.deviceData("Pump", [{ name: "Flow", alias: 1, type: "Double", value: 2 }]),
      50,
    );
    const directory = await mkdtemp(join(tmpdir(), "akri-shared-host-"));
    agent = new TestAgent(directory);
    await agent.start();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    registered = await agent.waitForRegistrations(1);
    pumps = agent.discover(
      registered,
      detailsFor(broker.url, "pumps", "  deviceIds: {action: Include, items: [Pump]}\n"),
    );
    // The second joins a host already online (the first list is sent once connected).
    await eventually(() => pumps.lists.length >= 1, "the pumps Configuration's first list");
    motors = agent.discover(
      registered,
      detailsFor(broker.url, "motors", "  birthMetrics: [{name: Speed}]\n"),
    );
  }, 30_000);

  afterAll(async () => {
    clearInterval(traffic);
    pumps?.cancel();
    motors?.cancel();
    await handler?.stop();
    await agent?.stop();
    await watcher?.endAsync();
    await broker?.stop();
  });

  it("each Configuration lists only its own view of the plant", async () => {
    await pumps.waitForIds(["spBv1.0/Plant/Line1/Pump"], "the pumps Configuration");
    await motors.waitForIds(["spBv1.0/Plant/Line1/Motor"], "the motors Configuration");
  });

  it("publishes one STATE birth for both", async () => {
    await eventually(() => states.length >= 1, "a STATE birth");
    expect(states.filter((s) => s.online)).toHaveLength(1);
  });

  it("refuses a Configuration that names the same host with another host setting or broker list, naming the key and the fix", async () => {
    const other = agent.discover(
      registered,
      detailsFor(broker.url, "sensors", "  rebirth: {reorderTimeoutMs: 500}\n"),
    );
    const error = await other.waitForError();
    expect(error.code).toBe(3); // INVALID_ARGUMENT
    expect(error.details).toContain(
      "discoveryDetails.sparkplug.rebirth.reorderTimeoutMs: 500 differs from 2000",
    );
    expect(error.details).toContain("Configuration pumps");
    expect(error.details).toContain("give this Configuration its own sparkplug.hostId");
    // The same host id on this broker beside another one is a second host under that id,
    // whose STATE would fight the first's: refused too, naming the broker.
    const overlapping = agent.discover(
      registered,
      `brokers: [{serverUrls: [${broker.url}]}, {serverUrls: [tcp://127.0.0.1:9]}]\nconfigurationName: sensors\nsparkplug: {}\n`,
    );
    const clash = await overlapping.waitForError();
    expect(clash.code).toBe(3);
    expect(clash.details).toContain(
      `discoveryDetails.brokers: ${broker.url} is also a broker of Configuration pumps`,
    );
    // Its own host id makes it a host of its own, beside the first (one that asks no node
    // for a rebirth, so that the requests counted below are the first host's).
    const own = agent.discover(
      registered,
      detailsFor(
        broker.url,
        "sensors",
        "  hostId: sensors\n  rebirth: {onUnknownNode: false, reorderTimeoutMs: 500}\n",
      ),
    );
    await eventually(() => ownStates.length >= 1, "the STATE birth of the host of its own");
    expect(own.isOpen).toBe(true);
    own.cancel();
  });

  it("a node that dies leaves both lists", async () => {
    clearInterval(traffic);
    await edge.kill();
    await pumps.waitForIds([], "the pumps Configuration after the NDEATH");
    await motors.waitForIds([], "the motors Configuration after the NDEATH");
  });

  it("asked the node for a rebirth once, and publishes one STATE death when the last Configuration leaves", async () => {
    expect(rebirths.filter((t) => t === "spBv1.0/Plant/NCMD/Line1")).toHaveLength(1);
    pumps.cancel();
    expect(states.filter((s) => !s.online)).toHaveLength(0);
    motors.cancel();
    await eventually(() => states.some((s) => !s.online), "the STATE death");
    expect(states.filter((s) => !s.online)).toHaveLength(1);
  });
});
