import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/sparkplug/datatype.js";
import { decodePayload } from "../../src/sparkplug/decode.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { type DiscoverCall, TestAgent } from "../support/akri-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment, MonitorProcess } from "../support/monitor-process.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { packetsFrom } from "../support/mosquitto-log.js";
import { connectEdge } from "../support/own-edge.js";
import { ResilientEdge } from "../support/resilient-edge.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * One Sparkplug host on two independent Mosquitto brokers (Sparkplug 3.0 server sets; what
 * the TCK's MultipleBrokerTest grades): `akri-mqtt serve` with a Configuration listing both,
 * Tahu edge nodes on each, and edge nodes of our own where a node must move between brokers
 * at a moment of the test's choosing (Tahu's client takes one server URL).
 */

const motor: TahuMetric[] = [{ name: "Speed", alias: 1, type: "Double", value: 1 }];
const CLIENT_ID = "akri-mqtt-node-a";
const STATE_TOPIC = "spBv1.0/STATE/akri-mqtt-node-a";

/** The retained message on a topic of a broker, if any (read by a client of its own). */
async function retained(url: string, topic: string): Promise<Buffer | undefined> {
  const client = await mqtt.connectAsync(url, { clientId: `reader-${Math.random().toString(16).slice(2)}` });
  let found: Buffer | undefined;
  client.on("message", (_t, payload, packet) => {
    if (packet.retain) found = payload;
  });
  await client.subscribeAsync(topic, { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  await client.endAsync();
  return found;
}

const stateOf = (payload: Buffer | undefined) =>
  payload === undefined
    ? undefined
    : (JSON.parse(payload.toString()) as { online: boolean; timestamp: number });

describe.skipIf(!mosquittoAvailable())("one host on two independent brokers", () => {
  let a: Mosquitto;
  let b: Mosquitto;
  let agent: TestAgent;
  let handler: HandlerProcess;
  let call: DiscoverCall;
  const stops: (() => Promise<unknown>)[] = [];

  const props = (id: string) => call.lists.at(-1)?.find((d) => d.id === id)?.properties;
  /** Where /devices says a listed device is now. */
  const brokerOf = async (id: string) => {
    const [stream] = JSON.parse((await handler.get("/devices")).body) as {
      devices: { id: string; broker: string | null }[];
    }[];
    return stream?.devices.find((d) => d.id === id)?.broker;
  };

  beforeAll(async () => {
    // Both log every packet they receive: the record the TCK's interceptor would see.
    a = await Mosquitto.start({ extraConfig: ["log_type all"] });
    b = await Mosquitto.start({ extraConfig: ["log_type all"] });
    const directory = await mkdtemp(join(tmpdir(), "akri-multi-broker-"));
    agent = new TestAgent(directory);
    await agent.start();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    const registered = await agent.waitForRegistrations(1);
    call = agent.discover(
      registered,
      `brokers:\n  - serverUrls: [${a.url}]\n  - serverUrls: [${b.url}]\nconfigurationName: plant\n`,
    );
    await eventually(() => call.lists.length >= 1, "the first list");
  }, 30_000);

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    call?.cancel();
    await handler?.stop();
    await agent?.stop();
    await a?.stop();
    await b?.stop();
  });

  it("subscribes on each broker before its STATE birth there, and each birth carries that broker's own session timestamp", async () => {
    await eventually(
      async () => stateOf(await retained(a.url, STATE_TOPIC))?.online === true,
      "the STATE birth retained on A",
    );
    await eventually(
      async () => stateOf(await retained(b.url, STATE_TOPIC))?.online === true,
      "the STATE birth retained on B",
    );
    for (const broker of [a, b]) {
      const packets = packetsFrom(broker.output, CLIENT_ID);
      expect(packets.find((p) => p.kind === "will")?.topics).toStrictEqual([STATE_TOPIC]);
      const birth = packets.findIndex((p) => p.kind === "publish" && p.topics[0] === STATE_TOPIC);
      expect(birth, broker.output).toBeGreaterThan(0);
      const subscribed = packets.slice(0, birth).flatMap((p) => (p.kind === "subscribe" ? p.topics : []));
      expect(subscribed).toContain("spBv1.0/#");
      expect(subscribed).toContain(STATE_TOPIC);
    }
    // A new session on B only: B gets a birth with its new timestamp, A keeps its own.
    const onA = stateOf(await retained(a.url, STATE_TOPIC))!.timestamp;
    const onB = stateOf(await retained(b.url, STATE_TOPIC))!.timestamp;
    await b.kill();
    await new Promise((r) => setTimeout(r, 300));
    await b.restart();
    await eventually(
      async () => (stateOf(await retained(b.url, STATE_TOPIC))?.timestamp ?? 0) > onB,
      "a STATE birth on B with its new session's timestamp",
      15_000,
    );
    expect(stateOf(await retained(a.url, STATE_TOPIC))).toStrictEqual({ online: true, timestamp: onA });
  }, 30_000);

  it("lists the nodes of both brokers, every device with the Configuration's broker properties; /devices and /metrics say which broker each is on", async () => {
    const onA = await TahuEdgeNode.start({
      url: a.url,
      group: "Multi",
      edge: "OnA",
      devices: { Motor: motor },
    });
    const onB = await TahuEdgeNode.start({
      url: b.url,
      group: "Multi",
      edge: "OnB",
      devices: { Motor: motor },
    });
    stops.push(
      () => onA.stop(),
      () => onB.stop(),
    );
    await call.waitForIds(["spBv1.0/Multi/OnA/Motor", "spBv1.0/Multi/OnB/Motor"], "both nodes' devices");
    for (const id of ["spBv1.0/Multi/OnA/Motor", "spBv1.0/Multi/OnB/Motor"])
      expect(props(id)).toMatchObject({
        MQTT_BROKER_URI: a.url,
        MQTT_BROKER_URIS: `${a.url} ${b.url}`,
        MQTT_BROKER_NAMES: "1 2",
      });
    const [stream] = JSON.parse((await handler.get("/devices")).body) as {
      brokers: { uri: string; connected: boolean }[];
      devices: { id: string; broker: string }[];
    }[];
    expect(stream!.brokers).toStrictEqual([
      { uri: a.url, connected: true },
      { uri: b.url, connected: true },
    ]);
    expect(stream!.devices.map((d) => [d.id, d.broker])).toStrictEqual([
      ["spBv1.0/Multi/OnA/Motor", a.url],
      ["spBv1.0/Multi/OnB/Motor", b.url],
    ]);
    expect(await handler.metric(`akri_mqtt_broker_connected{broker="${b.url}"}`)).toBe(1);
    expect(await handler.metric(`akri_mqtt_devices_by_broker{broker="${a.url}"}`)).toBe(1);
    await onA.stop();
    await onB.stop();
    await call.waitForIds([], "both nodes dead");
  });

  it("a node that moves to B stays listed, though A publishes its Will after the node's NBIRTH on B; /devices follows it, its properties never change", async () => {
    const first = await connectEdge(a.url, "Move", "Line", 4n, "move-on-a");
    await call.waitForIds(["spBv1.0/Move/Line/Drive"], "the node on A");
    const listed = props("spBv1.0/Move/Line/Drive");
    expect(listed?.MQTT_BROKER_URI).toBe(a.url);
    expect(await brokerOf("spBv1.0/Move/Line/Drive")).toBe(a.url);
    const lists = call.lists.length;
    // The node gives A up (a partition, A not noticing yet) and is born on B with the next bdSeq.
    const moved = await connectEdge(b.url, "Move", "Line", 5n, "move-on-b");
    stops.push(() => moved.client.endAsync());
    await eventually(async () => (await brokerOf("spBv1.0/Move/Line/Drive")) === b.url, "the device on B");
    const deaths: bigint[] = [];
    const watcher = await mqtt.connectAsync(a.url, { clientId: "ndeath-watcher" });
    watcher.on("message", (_t, payload) => {
      const decoded = decodePayload(payload);
      if (decoded.ok) deaths.push(decoded.payload.metrics.find((m) => m.name === "bdSeq")?.value as bigint);
    });
    await watcher.subscribeAsync("spBv1.0/Move/NDEATH/Line", { qos: 1 });
    // Only now does A notice and publish the Will: an NDEATH of bdSeq 4.
    first.client.stream.destroy();
    await eventually(() => deaths.length > 0, "A publishing the node's old Will", 10_000);
    expect(deaths).toStrictEqual([4n]);
    await watcher.endAsync();
    await new Promise((r) => setTimeout(r, 1500));
    expect(call.ids()).toContain("spBv1.0/Move/Line/Drive");
    expect(await brokerOf("spBv1.0/Move/Line/Drive")).toBe(b.url);
    // Nothing Akri sees changed: every list since the move has it, with the same properties.
    for (const list of call.lists.slice(lists))
      expect(list.find((d) => d.id === "spBv1.0/Move/Line/Drive")?.properties).toStrictEqual(listed);
    await moved.client.endAsync();
  });

  it("the device's monitor, started from its properties, follows it to the other broker", async () => {
    const first = await connectEdge(a.url, "Follow", "Line", 7n, "follow-on-a");
    stops.push(() => first.client.endAsync());
    await eventually(() => props("spBv1.0/Follow/Line/Drive") !== undefined, "the device listed");
    const monitor = await MonitorProcess.start({
      ...akriEnvironment("spBv1.0/Follow/Line/Drive", props("spBv1.0/Follow/Line/Drive")!),
      MONITOR_STATE_DIR: await mkdtemp(join(tmpdir(), "akri-multi-broker-monitor-")),
    });
    stops.push(() => monitor.stop());
    await eventually(() => /monitoring the device/.test(monitor.output), "the monitor subscribed");
    await new Promise((r) => setTimeout(r, 500));
    // Born again (as after a rebirth request) now that its monitor listens.
    for (const p of first.edge.births(Date.now()))
      await first.client.publishAsync(p.topic, Buffer.from(p.payload));
    await eventually(
      async () => (await monitor.state()).status === "online",
      "the monitor sees it online",
      15_000,
    );
    const moved = await connectEdge(b.url, "Follow", "Line", 8n, "follow-on-b");
    stops.push(() => moved.client.endAsync());
    first.client.stream.destroy(); // A publishes the node's old Will, which changes nothing
    const data = moved.edge.ddata("Drive", { RPM: 42 }, Date.now());
    await moved.client.publishAsync(data.topic, Buffer.from(data.payload));
    await eventually(
      async () => {
        const state = await monitor.state();
        return state.status === "online" && state.metrics.some((m) => m.name === "RPM" && m.value === 42);
      },
      "the monitor showing the DATA the device sent on B",
      15_000,
    );
    // Where it is now is in /state (never in the properties it was started with).
    expect((await monitor.state()).broker.on).toBe(b.url);
  }, 30_000);

  it("asks a node on B for a rebirth on B only", async () => {
    const requests: { broker: string; topic: string }[] = [];
    for (const [name, broker] of [
      ["a", a],
      ["b", b],
    ] as const) {
      const watcher = await mqtt.connectAsync(broker.url, { clientId: `ncmd-watcher-${name}` });
      watcher.on("message", (topic) => requests.push({ broker: name, topic }));
      await watcher.subscribeAsync("spBv1.0/Late/NCMD/#", { qos: 1 });
      stops.push(() => watcher.endAsync());
    }
    // A node whose births the handler missed (published before it joined): only its DATA, on B.
    const late = new EdgeNodeEncoder("Late", "Line", 1n);
    late.defineDevice("Drive", { metrics: [{ name: "RPM", alias: 2, datatype: DataType.Int32, value: 0 }] });
    late.births(Date.now());
    const client = await mqtt.connectAsync(b.url, { clientId: "late-on-b" });
    stops.push(() => client.endAsync());
    const data = late.ddata("Drive", { RPM: 1 }, Date.now());
    await client.publishAsync(data.topic, Buffer.from(data.payload));
    await eventually(() => requests.length > 0, "a rebirth request", 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(requests).toStrictEqual([{ broker: "b", topic: "spBv1.0/Late/NCMD/Line" }]);
  }, 30_000);

  it("broker A SIGKILLed: its devices stay listed, B's keep coming; when A is back its nodes return, never listed twice", async () => {
    const onA = new ResilientEdge({
      urls: [a.url],
      group: "Outage",
      edge: "OnA",
      devices: ["D1"],
      reconnectMs: 300,
    });
    const onB = new ResilientEdge({
      urls: [b.url],
      group: "Outage",
      edge: "OnB",
      devices: ["D1"],
      reconnectMs: 300,
    });
    await onA.start();
    await onB.start();
    stops.push(
      () => onA.kill(),
      () => onB.kill(),
    );
    const outage = (ids: string[]) => ids.filter((id) => id.startsWith("spBv1.0/Outage/"));
    await eventually(() => outage(call.ids()).length === 2, "both nodes listed");
    const lists = call.lists.length;
    await a.kill();
    // A new device on B while A is down is listed next to A's.
    onB.options.devices.push("D2");
    onB.encoder.defineDevice("D2", { metrics: [] });
    onB.reviveDevice("D2");
    await eventually(() => outage(call.ids()).length === 3, "B's new device, A's still there", 10_000);
    expect(outage(call.ids())).toContain("spBv1.0/Outage/OnA/D1");
    await a.restart();
    await eventually(() => onA.connected, "the node on A back", 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(outage(call.ids())).toStrictEqual([
      "spBv1.0/Outage/OnA/D1",
      "spBv1.0/Outage/OnB/D1",
      "spBv1.0/Outage/OnB/D2",
    ]);
    const since = call.lists.slice(lists);
    expect(since.every((l) => new Set(l.map((d) => d.id)).size === l.length)).toBe(true);
    expect(since.every((l) => l.some((d) => d.id === "spBv1.0/Outage/OnA/D1"))).toBe(true);
  }, 45_000);
});
