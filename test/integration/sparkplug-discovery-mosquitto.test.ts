import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionPool } from "../../src/mqtt/connection-pool.js";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { DiscoveryProbe } from "../support/discovery-probe.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * Sparkplug discovery end to end: Eclipse Tahu edge nodes publishing through a real
 * Mosquitto, our live discovery pipeline listing their devices.
 */

const motor: TahuMetric[] = [
  { name: "Speed", alias: 1, type: "Double", value: 1.5 },
  { name: "Properties/Hardware Make", alias: 2, type: "String", value: "Acme" },
  { name: "Properties/Hardware Model", alias: 3, type: "String", value: "M-9" },
];
const pump: TahuMetric[] = [
  { name: "Flow", alias: 10, type: "Float", value: 2 },
  { name: "Properties/Hardware Make", alias: 11, type: "String", value: "Grundfos" },
];

describe.skipIf(!mosquittoAvailable())("Sparkplug discovery with Mosquitto and Tahu edge nodes", () => {
  let broker: Mosquitto;
  const nodes: TahuEdgeNode[] = [];
  const probes: DiscoveryProbe[] = [];
  // Discoveries in one process share connections (one client id per pod), as in the handler.
  const pool = new ConnectionPool();

  const discover = (yaml: string, extra: ConstructorParameters<typeof DiscoveryProbe>[2] = {}) => {
    const probe = new DiscoveryProbe(`serverUrls: [${broker.url}]\n${yaml}`, pool, extra);
    probes.push(probe);
    return probe;
  };
  const edge = async (group: string, edgeId: string, devices: Record<string, TahuMetric[]>) => {
    const node = await TahuEdgeNode.start({ url: broker.url, group, edge: edgeId, devices });
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    broker = await Mosquitto.start();
  });

  afterAll(async () => {
    for (const probe of probes) await probe.stop();
    for (const node of nodes) await node.stop().catch(() => undefined);
    await broker?.stop();
  });

  it("lists devices with the exact ids and properties, filters them, and drops the dead", async () => {
    const all = discover("sparkplug: {}");
    const mapped = discover(`sparkplug:\n  properties:\n    HARDWARE_MODEL: Properties/Hardware Model`);
    const filtered = discover(`sparkplug:
  groupIds: {action: Include, items: [Plant1]}
  edgeNodeIds: {action: Exclude, items: [test-node]}
  birthMetrics:
    - {name: Properties/Hardware Make, equals: Acme}`);
    const nodesOnly = discover("sparkplug: {discover: nodes}");

    const lineA = await edge("Plant1", "LineA", { Motor: motor, Pump: pump });
    await edge("Plant1", "test-node", { Motor: motor });
    const lineX = await edge("Plant2", "LineX", { Motor: motor });

    await all.waitForIds(
      [
        "spBv1.0/Plant1/LineA/Motor",
        "spBv1.0/Plant1/LineA/Pump",
        "spBv1.0/Plant1/test-node/Motor",
        "spBv1.0/Plant2/LineX/Motor",
      ],
      "all devices",
    );
    // Mapped values are part of a device's identity (`#` and 8 hex digits of them), so that
    // a changed value is a new Instance rather than a changed shared one.
    await eventually(() => mapped.latest()?.devices.length === 4, "all devices, mapped");
    const mappedMotor = mapped.latest()?.devices.find((d) => d.id.startsWith("spBv1.0/Plant1/LineA/Motor#"));
    expect(mappedMotor?.id).toMatch(/^spBv1\.0\/Plant1\/LineA\/Motor#[0-9a-f]{8}$/);
    expect(
      all.latest()?.devices.find((d) => d.id === "spBv1.0/Plant1/LineA/Motor")?.properties,
    ).toStrictEqual({
      MQTT_BROKER_URI: broker.url,
      SPARKPLUG_GROUP_ID: "Plant1",
      SPARKPLUG_EDGE_NODE_ID: "LineA",
      SPARKPLUG_DEVICE_ID: "Motor",
      SPARKPLUG_DATA_TOPIC: "spBv1.0/Plant1/DDATA/LineA/Motor",
    });
    expect(mappedMotor?.properties).toStrictEqual({
      MQTT_BROKER_URI: broker.url,
      SPARKPLUG_GROUP_ID: "Plant1",
      SPARKPLUG_EDGE_NODE_ID: "LineA",
      SPARKPLUG_DEVICE_ID: "Motor",
      SPARKPLUG_DATA_TOPIC: "spBv1.0/Plant1/DDATA/LineA/Motor",
      HARDWARE_MODEL: "M-9",
    });
    await filtered.waitForIds(["spBv1.0/Plant1/LineA/Motor"], "group, edge and birth metric filters");
    await nodesOnly.waitForIds(
      ["spBv1.0/Plant1/LineA", "spBv1.0/Plant1/test-node", "spBv1.0/Plant2/LineX"],
      "nodes",
    );
    // Four discoveries with the same broker settings share one connection.
    expect(pool.size).toBe(1);

    lineA.deviceDeath("Pump");
    await all.waitForIds(
      ["spBv1.0/Plant1/LineA/Motor", "spBv1.0/Plant1/test-node/Motor", "spBv1.0/Plant2/LineX/Motor"],
      "Pump gone after its DDEATH",
    );
    await lineX.kill();
    await all.waitForIds(
      ["spBv1.0/Plant1/LineA/Motor", "spBv1.0/Plant1/test-node/Motor"],
      "LineX gone after its Will",
    );
    await nodesOnly.waitForIds(["spBv1.0/Plant1/LineA", "spBv1.0/Plant1/test-node"], "LineX node gone");
  });

  it("turns a burst of 1,000 DBIRTHs into at most 5 device lists", async () => {
    const probe = discover("sparkplug: {groupIds: {action: Include, items: [Burst]}}");
    await eventually(() => probe.lists.length >= 1, "the first (empty) list");
    const before = probe.lists.length;
    const publisher = mqtt.connect(broker.url, { clientId: "burst-publisher" });
    await new Promise<void>((resolve) => publisher.once("connect", () => resolve()));
    const expected: string[] = [];
    for (let n = 0; n < 100; n++) {
      const node = new EdgeNodeEncoder("Burst", `Edge${n}`, 0n, []);
      for (let d = 0; d < 10; d++) {
        node.defineDevice(`D${d}`, {
          metrics: [{ name: "V", alias: d + 1, datatype: DataType.Int32, value: 0 }],
        });
        expected.push(`spBv1.0/Burst/Edge${n}/D${d}`);
      }
      for (const p of node.births(Date.now())) publisher.publish(p.topic, Buffer.from(p.payload));
    }
    await probe.waitForIds(expected, "all 1,000 devices", 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    const lists = probe.lists.slice(before);
    expect(lists.length).toBeLessThanOrEqual(5);
    await publisher.endAsync();
  });

  it("removes nothing on a stale NDEATH from an earlier session", async () => {
    const probe = discover("sparkplug: {groupIds: {action: Include, items: [Stale]}}");
    const old = await ownEdge(broker.url, "Stale", "E", 4n, "stale-old");
    const current = await ownEdge(broker.url, "Stale", "E", 5n, "stale-new");
    await probe.waitForIds(["spBv1.0/Stale/E/Drive"], "born");
    const lists = probe.lists.length;
    (old as unknown as { stream: { destroy(): void } }).stream.destroy(); // its Will: NDEATH bdSeq 4
    await eventually(
      () => probe.report.some((e) => e.kind === "stale-death-ignored" && e.fields.bdSeq === "4"),
      "the old session's NDEATH arrives and is ignored",
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(probe.ids()).toStrictEqual(["spBv1.0/Stale/E/Drive"]);
    expect(probe.lists.length).toBe(lists);
    current.end(true);
    old.end(true);
  });

  it("joins a running plant through a Sparkplug-aware broker's certificates: listed on first DATA, no rebirth", async () => {
    // What a Sparkplug-aware broker does (3.0 §10): keep each birth, retained, under $sparkplug/certificates/.
    const keeper = mqtt.connect(broker.url, { clientId: "certificate-keeper" });
    await new Promise<void>((resolve) => keeper.once("connect", () => resolve()));
    let kept = 0;
    keeper.on("message", (topic, payload) => {
      keeper.publish(`$sparkplug/certificates/${topic}`, payload, { qos: 1, retain: true }, () => kept++);
    });
    await keeper.subscribeAsync(["spBv1.0/Cert/NBIRTH/+", "spBv1.0/Cert/DBIRTH/+/+"], { qos: 1 });
    const commands: string[] = [];
    keeper.on("message", (topic) => topic.includes("/NCMD/") && commands.push(topic));
    await keeper.subscribeAsync("spBv1.0/Cert/NCMD/#");

    const line = await edge("Cert", "Line", { Motor: motor, Pump: pump });
    await eventually(() => kept === 3, "the NBIRTH and both DBIRTHs kept as certificates");
    // The handler joins after the births, on its own connection (another pod: its own client and host id).
    const probe = new DiscoveryProbe(
      `serverUrls: [${broker.url}]\nclientId: akri-mqtt-joiner\nsparkplug: {hostId: joiner, groupIds: {action: Include, items: [Cert]}}`,
      new ConnectionPool(),
      { host: { unprovenGraceMs: 3000 } },
    );
    probes.push(probe);
    await eventually(() => probe.lists.length >= 1, "the first list");
    // Certificates teach the tables, not liveness: nothing is listed before the plant speaks.
    expect(probe.ids()).toStrictEqual([]);
    line.deviceData("Motor", [{ name: "Speed", alias: 1, type: "Double", value: 3.25 }]);
    line.deviceData("Pump", [{ name: "Flow", alias: 10, type: "Float", value: 4 }]);
    await probe.waitForIds(["spBv1.0/Cert/Line/Motor", "spBv1.0/Cert/Line/Pump"], "listed from live DATA");
    expect(
      probe.report.filter((e) => e.kind === "data-before-birth" || e.kind === "unknown-metric"),
    ).toStrictEqual([]);
    // Past the unproven grace: nobody was asked to rebirth, and the node did not.
    await new Promise((r) => setTimeout(r, 4000));
    expect(commands).toStrictEqual([]);
    expect(line.birthCount).toBe(1);
    await keeper.endAsync();
  });

  it("keeps the list while Mosquitto is down for 10 s, then converges with no duplicate or ghost", async () => {
    const probe = discover("sparkplug: {groupIds: {action: Include, items: [Outage]}}", {
      host: { staleTimeoutMs: 3000 },
    });
    const stays = await edge("Outage", "Stays", { Motor: motor, Pump: pump });
    const leaves = await edge("Outage", "Leaves", { Motor: motor });
    const expected = [
      "spBv1.0/Outage/Stays/Motor",
      "spBv1.0/Outage/Stays/Pump",
      "spBv1.0/Outage/Leaves/Motor",
    ];
    await probe.waitForIds(expected, "all born");
    const before = probe.lists.length;

    await broker.kill();
    // The edge node "Leaves" goes away for good while the broker is down.
    await leaves.stop();
    await new Promise((r) => setTimeout(r, 10_000));
    expect(probe.lists.length).toBe(before);
    expect(probe.ids()).toStrictEqual(expected.sort());

    await broker.restart();
    await stays.nextBirth();
    // Re-learned through births (Tahu rebirths on reconnect; our host asks the silent ones), then the ghost leaves.
    await probe.waitForIds(["spBv1.0/Outage/Stays/Motor", "spBv1.0/Outage/Stays/Pump"], "converged", 20_000);
    for (const list of probe.lists)
      expect(new Set(list.devices.map((d) => d.id)).size).toBe(list.devices.length);
    expect(probe.lists.slice(before).some((l) => l.devices.length === 0)).toBe(false);
  }, 60_000);
});

/** An edge node of our own with a QoS 1 Will of its bdSeq (Tahu never changes bdSeq). */
async function ownEdge(
  url: string,
  group: string,
  edgeId: string,
  bdSeq: bigint,
  clientId: string,
): Promise<MqttClient> {
  const edge = new EdgeNodeEncoder(group, edgeId, bdSeq, []);
  edge.defineDevice("Drive", { metrics: [{ name: "RPM", alias: 1, datatype: DataType.Int32, value: 0 }] });
  const will = edge.will(Date.now());
  const client = mqtt.connect(url, {
    clientId,
    reconnectPeriod: 0,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false },
  });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  for (const p of edge.births(Date.now())) await client.publishAsync(p.topic, Buffer.from(p.payload));
  return client;
}
