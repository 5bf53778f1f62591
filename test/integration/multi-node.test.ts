import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/sparkplug/datatype.js";
import { decodePayload } from "../../src/sparkplug/decode.js";
import { encodePayload } from "../../src/sparkplug/encode.js";
import { REBIRTH_METRIC } from "../../src/sparkplug/payload.js";
import { Cluster, type ListedDevice } from "../support/cluster/cluster.js";
import type { Configuration } from "../support/cluster/configuration-controller.js";
import { instanceStoreAvailable } from "../support/cluster/instance-store-binary.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { connectEdge } from "../support/own-edge.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * akri-mqtt as Akri runs it: a DaemonSet of three nodes, each with its own `akri-mqtt
 * serve` and its own Akri agent (a stand-in that reconciles as Akri 0.13.26 does), all
 * writing the same shared Instances to one API server with server-side apply, field
 * manager = node name, no force. There a device's properties must be the same on every
 * node and never change while it is listed: a change, even one every node agrees on, is
 * a 409 that stops each node's reconcile (issue 22). Every scenario ends with: no write
 * ever got a 409; the agents discover the same devices; each listed device has one
 * Instance, on all three nodes, holding exactly the device's properties (and the
 * Configuration's); any other Instance of the Configuration is on no node.
 */

const available = mosquittoAvailable() && instanceStoreAvailable();

/** The retained STATE of every Sparkplug host on a broker (a host publishes it after subscribing). */
class StateWatch {
  private readonly online = new Map<string, boolean>();

  private constructor(private readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      try {
        this.online.set(topic, (JSON.parse(payload.toString()) as { online: boolean }).online);
      } catch {
        // not a 3.0 STATE payload
      }
    });
  }

  static async start(url: string): Promise<StateWatch> {
    const client = await mqtt.connectAsync(url, {
      clientId: `state-watch-${Math.random().toString(16).slice(2)}`,
    });
    const watch = new StateWatch(client);
    await client.subscribeAsync("spBv1.0/STATE/+", { qos: 1 });
    return watch;
  }

  /** Hosts online whose host id starts with `prefix`. */
  hostsOnline(prefix: string): number {
    return [...this.online].filter(([topic, up]) => up && topic.startsWith(`spBv1.0/STATE/${prefix}-`))
      .length;
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }
}

/** A plain MQTT device that publishes every 200 ms on whichever broker it is on. */
class GenericDevice {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly topic: string) {}

  async publishOn(url: string): Promise<void> {
    const old = this.client;
    this.client = await mqtt.connectAsync(url, {
      clientId: `generic-${Math.random().toString(16).slice(2)}`,
    });
    await old?.endAsync();
    clearInterval(this.timer);
    const send = () => this.client?.publish(this.topic, JSON.stringify({ t: Date.now() }), { qos: 0 });
    send();
    this.timer = setInterval(send, 200);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client?.endAsync();
  }
}

const byDevice = (device: string) => (d: ListedDevice) => d.properties.SPARKPLUG_DEVICE_ID === device;

describe.skipIf(!available)("three nodes applying the same Instances (issue 22)", () => {
  let a: Mosquitto;
  let b: Mosquitto;
  let cluster: Cluster;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    a = await Mosquitto.start();
    b = await Mosquitto.start();
    cluster = await Cluster.start();
  }, 180_000);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse())
      await Promise.resolve(cleanup()).catch(() => undefined);
  });

  afterAll(async () => {
    await cluster?.stop();
    await a?.stop();
    await b?.stop();
  });

  /** Applies a Configuration on every node; it is deleted after the test. */
  function deploy(name: string, details: string): Configuration {
    const configuration = cluster.configuration(name, `${details}configurationName: ${name}\n`, {
      SAMPLE_INTERVAL_MS: "1000",
    });
    cluster.apply(configuration);
    cleanups.push(() => cluster.delete(name));
    return configuration;
  }

  /** Every node's Sparkplug host subscribed on `url` (its STATE birth is out). */
  async function subscribedEverywhere(url: string, hostId: string): Promise<void> {
    const watch = await StateWatch.start(url);
    cleanups.push(() => watch.stop());
    await eventually(
      () => watch.hostsOnline(hostId) === cluster.nodes.length,
      `3 ${hostId} hosts on ${url}`,
      15_000,
    );
  }

  /** The broker each node's handler says (in /devices) a device of `configuration` is on now. */
  async function brokersOf(
    configuration: string,
    id: (device: { id: string }) => boolean,
  ): Promise<string[]> {
    const brokers: string[] = [];
    for (const node of cluster.nodes) {
      const streams = JSON.parse((await node.handler.get("/devices")).body) as {
        devices: { id: string; instanceName: string; broker: string | null }[];
      }[];
      for (const stream of streams)
        for (const device of stream.devices)
          if (device.instanceName.startsWith(`${configuration}-`) && id(device))
            brokers.push(`${node.name}:${device.broker}`);
    }
    return brokers;
  }

  /** What a settled cluster must show (see the file's comment); 409s first, with the server's text. */
  async function expectSettled(configuration: Configuration): Promise<void> {
    expect(cluster.conflicts(configuration.name), "Instance writes refused with 409").toStrictEqual([]);
    expect(await cluster.problems(configuration)).toStrictEqual([]);
  }

  it("(a) a Sparkplug edge node moving from broker A to broker B keeps one Instance on all nodes, with the same properties", async () => {
    const configuration = deploy(
      "issue22-move",
      `brokers:\n  - {name: A, serverUrls: [${a.url}]}\n  - {name: B, serverUrls: [${b.url}]}\n` +
        `clientId: akri-move\nsparkplug:\n  hostId: akri-move\n  groupIds: {action: Include, items: [Move]}\n`,
    );
    await subscribedEverywhere(a.url, "akri-move");
    await subscribedEverywhere(b.url, "akri-move");
    const first = await connectEdge(a.url, "Move", "Line", 4n, "move-on-a");
    cleanups.push(() => first.client.endAsync(true));
    await cluster.settle(configuration, "the node's device listed", (ds) => ds.some(byDevice("Drive")));
    await expectSettled(configuration);
    const before = cluster.discovered(configuration.name)["node-a"]!.find(byDevice("Drive"))!;
    // Design §5: MQTT_BROKER_URI comes from the Configuration alone (the first broker).
    expect(before.properties.MQTT_BROKER_URI).toBe(a.url);

    // The node is born on B (a new session), then A notices the old one is gone and
    // publishes its Will: a stale NDEATH.
    const moved = await connectEdge(b.url, "Move", "Line", 5n, "move-on-b");
    cleanups.push(() => moved.client.endAsync(true));
    await eventually(
      async () =>
        (await brokersOf(configuration.name, (d) => d.id === before.id)).every((x) => x.endsWith(b.url)),
      "every handler's /devices showing the device on B",
      15_000,
    );
    const deaths = await mqtt.connectAsync(a.url, { clientId: "move-ndeath-watch" });
    cleanups.push(() => deaths.endAsync());
    let staleDeath = false;
    deaths.on("message", (_t, payload) => {
      staleDeath = decodePayload(payload).ok;
    });
    await deaths.subscribeAsync("spBv1.0/Move/NDEATH/Line", { qos: 1 });
    first.client.stream.destroy();
    await eventually(() => staleDeath, "A publishing the old session's Will", 10_000);

    await cluster.settle(configuration, "the moved device settled", (ds) => ds.some(byDevice("Drive")));
    await expectSettled(configuration);
    const after = cluster.discovered(configuration.name)["node-a"]!.find(byDevice("Drive"))!;
    expect(after).toStrictEqual(before);
  }, 60_000);

  it("(b) a generic device publishing on A, then B, then A again keeps one Instance on all nodes, with the same properties", async () => {
    const configuration = deploy(
      "issue22-generic",
      `brokers:\n  - {name: A, serverUrls: [${a.url}]}\n  - {name: B, serverUrls: [${b.url}]}\n` +
        `mode: generic\nclientId: akri-generic\ntopics: [press/+/temp]\n`,
    );
    const device = new GenericDevice("press/p1/temp");
    cleanups.push(() => device.stop());
    await device.publishOn(a.url);
    await cluster.settle(configuration, "the device listed", (ds) => ds.length === 1);
    await expectSettled(configuration);
    const before = cluster.discovered(configuration.name)["node-a"]![0]!;
    expect(before.properties.MQTT_BROKER_URI).toBe(a.url);

    for (const url of [b.url, a.url]) {
      await device.publishOn(url);
      await eventually(
        async () => {
          const brokers = await brokersOf(configuration.name, (d) => d.id === before.id);
          return brokers.length >= 3 && brokers.every((x) => x.endsWith(url));
        },
        `every handler's /devices showing the device on ${url}`,
        15_000,
      );
      await cluster.settle(
        configuration,
        `the device settled after publishing on ${url}`,
        (ds) => ds.length === 1,
      );
      await expectSettled(configuration);
      expect(cluster.discovered(configuration.name)["node-a"]).toStrictEqual([before]);
    }
  }, 60_000);

  /**
   * A Tahu edge node whose device carries a birth metric the Configuration maps to a
   * property, with the device's model changed (a replaced part) and the node asked for a
   * rebirth, as a host would ask it.
   */
  async function mappedDevice(group: string, configuration: Configuration) {
    const metrics: TahuMetric[] = [
      { name: "Properties/Hardware Model", type: "String", value: "M-100" },
      { name: "Temperature", alias: 1, type: "Double", value: 20 },
    ];
    const edge = await TahuEdgeNode.start({ url: a.url, group, edge: "Cell", devices: { Sensor: metrics } });
    cleanups.push(() => edge.stop());
    await cluster.settle(configuration, "the device listed with HARDWARE_MODEL M-100", (ds) =>
      ds.some((d) => byDevice("Sensor")(d) && d.properties.HARDWARE_MODEL === "M-100"),
    );
    await expectSettled(configuration);
    return {
      edge,
      async changeModel(model: string): Promise<void> {
        metrics[0]!.value = model;
        const host = await mqtt.connectAsync(a.url, { clientId: `rebirth-${group}` });
        const reborn = edge.nextBirth();
        const request = encodePayload({
          timestamp: Date.now(),
          metrics: [{ name: REBIRTH_METRIC, datatype: DataType.Boolean, value: true }],
        });
        await host.publishAsync(`spBv1.0/${group}/NCMD/Cell`, Buffer.from(request), { qos: 0 });
        await reborn;
        await host.endAsync();
      },
    };
  }

  /** After the change: the Instance with the new value on every node, none with the old on any. */
  async function expectModel(configuration: Configuration, now: string, was: string): Promise<void> {
    const instances = await cluster.instances(configuration.name);
    const current = instances.filter((i) => i.spec.brokerProperties.HARDWARE_MODEL === now);
    expect(current.map((i) => [...i.spec.nodes].sort())).toStrictEqual([["node-a", "node-b", "node-c"]]);
    const old = instances.filter((i) => i.spec.brokerProperties.HARDWARE_MODEL === was);
    expect(old.filter((i) => i.spec.nodes.length > 0).map((i) => i.metadata.name)).toStrictEqual([]);
  }

  function mappedDetails(group: string, hostId: string): string {
    return (
      `serverUrls: [${a.url}]\nclientId: ${hostId}\nsparkplug:\n  hostId: ${hostId}\n` +
      `  groupIds: {action: Include, items: [${group}]}\n` +
      `  properties: {HARDWARE_MODEL: Properties/Hardware Model}\n`
    );
  }

  const hasModel = (model: string) => (ds: ListedDevice[]) =>
    ds.some((d) => byDevice("Sensor")(d) && d.properties.HARDWARE_MODEL === model) &&
    !ds.some((d) => byDevice("Sensor")(d) && d.properties.HARDWARE_MODEL !== model);

  /** Deploys a Configuration mapping the model, and changes the device's model from M-100 to M-200 by a rebirth. */
  async function modelChanged(name: string, group: string) {
    const hostId = `akri-${group.toLowerCase()}`;
    const configuration = deploy(name, mappedDetails(group, hostId));
    await subscribedEverywhere(a.url, hostId);
    const device = await mappedDevice(group, configuration);
    await device.changeModel("M-200");
    await cluster.settle(
      configuration,
      "the device listed with HARDWARE_MODEL M-200 only",
      hasModel("M-200"),
    );
    await expectSettled(configuration);
    return { configuration, device };
  }

  it("(c) a mapped birth metric changed by a rebirth: the new value is on every node, the old on none", async () => {
    const { configuration } = await modelChanged("issue22-mapped", "Mapped");
    await expectModel(configuration, "M-200", "M-100");
  }, 60_000);

  it("(d) after that change, a node's handler restarts and its agent comes back to the same properties", async () => {
    const { configuration, device } = await modelChanged("issue22-restart", "Restart");
    const before = cluster.discovered(configuration.name);

    // The device keeps sending data, so the restarted handler, which missed its births,
    // asks the node for new ones.
    const data = setInterval(
      () => device.edge.deviceData("Sensor", [{ alias: 1, type: "Double", value: 21 }]),
      250,
    );
    cleanups.push(() => clearInterval(data));
    const agent = cluster.node("node-b").agent;
    await cluster.stopHandler("node-b");
    await eventually(
      () => agent.discovered(configuration.name) === undefined,
      "node-b's agent losing its request",
      10_000,
    );
    await cluster.startHandler("node-b");
    // Akri's agent retries the lost request with a doubling backoff: give it time.
    await cluster.settle(configuration, "node-b back on the device", hasModel("M-200"), 45_000);
    await expectSettled(configuration);
    expect(cluster.discovered(configuration.name)).toStrictEqual(before);
    await expectModel(configuration, "M-200", "M-100");
  }, 90_000);
});
