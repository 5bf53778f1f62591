import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActiveMq, activeMqAvailable } from "../support/activemq.js";
import { expectFallbackTo311, expectSessionKept, logLines, plainClient } from "../support/broker-matrix.js";
import { CliProcess, jsonLines } from "../support/cli.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment } from "../support/monitor-process.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * A real Apache ActiveMQ Classic 5.17 (Debian 12's, with the MQTT transport's jars linked
 * in): it speaks MQTT 3.1.1 only and hangs up on an MQTT 5 CONNECT without a CONNACK. With
 * the default details (mqttVersion 5) discovery and the monitor must fall back to 3.1.1 at
 * once, and then Sparkplug must work end to end through it: spBv1.0/#, retained STATE,
 * Wills, a persistent session, and a broker crash.
 */

/** ActiveMQ cannot parse our MQTT 5 CONNECT and closes the connection. */
const HUNG_UP = "the broker hung up on our MQTT 5 CONNECT";

const pump: TahuMetric[] = [
  { name: "Counter", alias: 1, type: "Int32", value: 0 },
  { name: "Properties/Serial", alias: 2, type: "String", value: "P-1" },
];
const fan: TahuMetric[] = [{ name: "Speed", alias: 1, type: "Double", value: 1.5 }];

type Listed = { id: string; properties: Record<string, string> };

describe.skipIf(!activeMqAvailable())("ActiveMQ Classic 5.17, which speaks MQTT 3.1.1 only", () => {
  let amq: ActiveMq;
  let dir: string;
  let edge: TahuEdgeNode;
  let discover: CliProcess;
  let counter = 0;
  let publishing: NodeJS.Timeout;
  const expected = ["spBv1.0/Amq/Line/Fan", "spBv1.0/Amq/Line/Pump"];

  const lists = () => jsonLines(discover.stdout) as { devices: Listed[] }[];
  const ids = () => (lists().at(-1)?.devices ?? []).map((d) => d.id);
  /** A discovery of group Amq as `akri-mqtt discover` on a node called `host`. */
  const discovery = async (host: string) => {
    const details = join(dir, "details.yaml");
    await writeFile(
      details,
      `serverUrls: [${amq.url}]\nsparkplug: {groupIds: {action: Include, items: [Amq]}}\n`,
    );
    return new CliProcess(["discover", "--details", details, "--json"], {
      LOG_LEVEL: "info",
      HOSTNAME: host,
    });
  };

  beforeAll(async () => {
    amq = await ActiveMq.start();
    dir = await mkdtemp(join(tmpdir(), "akri-mqtt-activemq-test-"));
    // QoS 1, as an application whose data must reach persistent sessions publishes.
    edge = await TahuEdgeNode.start({
      url: amq.url,
      group: "Amq",
      edge: "Line",
      devices: { Pump: pump, Fan: fan },
      qos: 1,
    });
    publishing = setInterval(() => {
      counter++;
      edge.deviceData("Pump", [{ alias: 1, type: "Int32", value: counter }]);
    }, 100);
  }, 90_000);

  afterAll(async () => {
    clearInterval(publishing);
    await discover?.stop();
    await edge?.stop().catch(() => undefined);
    await amq?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("Sparkplug discovery with default details falls back to MQTT 3.1.1 at once, lists a running edge node's devices and keeps its STATE retained", async () => {
    discover = await discovery("amq-node-a");
    // The edge node was born before: our host finds it by asking for a rebirth (an NCMD through ActiveMQ).
    await eventually(
      () => JSON.stringify(ids()) === JSON.stringify(expected),
      "the edge node's devices",
      20_000,
    );
    expectFallbackTo311(discover.stderr, HUNG_UP);
    // It really was ActiveMQ that could not read our MQTT 5 CONNECT.
    expect(amq.output).toMatch(/Invalid message encoding/);
    expect(
      lists()
        .at(-1)
        ?.devices.find((d) => d.id.endsWith("/Pump"))?.properties,
    ).toStrictEqual({
      MQTT_BROKER_URI: amq.url,
      SPARKPLUG_GROUP_ID: "Amq",
      SPARKPLUG_EDGE_NODE_ID: "Line",
      SPARKPLUG_DEVICE_ID: "Pump",
      SPARKPLUG_DATA_TOPIC: "spBv1.0/Amq/DDATA/Line/Pump",
    });

    // Our STATE birth is retained: a client that subscribes later gets it at once.
    const late = await plainClient(amq.url, "amq-late-reader");
    const states: { topic: string; retain: boolean; payload: string }[] = [];
    late.on("message", (topic, payload, packet) =>
      states.push({ topic, retain: packet.retain, payload: payload.toString() }),
    );
    await late.subscribeAsync("spBv1.0/STATE/+", { qos: 1 });
    await eventually(() => states.length > 0, "the retained STATE", 10_000);
    await late.endAsync();
    expect(states[0]).toMatchObject({
      topic: expect.stringMatching(/^spBv1\.0\/STATE\/.*amq-node-a/),
      retain: true,
    });
    expect(JSON.parse(states[0]!.payload)).toMatchObject({ online: true });
  }, 40_000);

  it("Wills: an edge node's NDEATH removes its devices; a host that dies gets its STATE death published", async () => {
    const spare = await TahuEdgeNode.start({
      url: amq.url,
      group: "Amq",
      edge: "Spare",
      devices: { Valve: fan },
    });
    await eventually(() => ids().includes("spBv1.0/Amq/Spare/Valve"), "the spare node's device", 10_000);
    await spare.kill(); // its connection drops: ActiveMQ publishes its Will, the NDEATH
    await eventually(
      () => JSON.stringify(ids()) === JSON.stringify(expected),
      "the spare's device gone",
      10_000,
    );

    const watcher = await plainClient(amq.url, "amq-state-watcher");
    const deaths: string[] = [];
    watcher.on("message", (topic, payload) => {
      if (topic.includes("amq-node-b") && JSON.parse(payload.toString()).online === false) deaths.push(topic);
    });
    await watcher.subscribeAsync("spBv1.0/STATE/+", { qos: 1 });
    const other = await discovery("amq-node-b");
    await eventually(
      () => other.stderr.includes('"msg":"connected to broker"'),
      "the second host online",
      10_000,
    );
    await other.stop("SIGKILL"); // no goodbye: only its Will can say it is gone
    await eventually(() => deaths.length > 0, "the host's STATE death from its Will", 15_000);
    await watcher.endAsync();
  }, 40_000);

  it("after an ActiveMQ crash and restart, discovery reconnects and converges on the same devices, never an empty list", async () => {
    const listsBefore = lists().length;
    const connects = () => logLines(discover.stderr).filter((l) => l.msg === "connected to broker").length;
    const connected = connects();
    await amq.restart();
    await eventually(() => connects() > connected, "discovery to reconnect", 30_000);
    // Tahu's client reconnects and publishes its births again; our host relearns them.
    await eventually(() => edge.birthCount > 1, "the edge node's births after the restart", 20_000);
    await eventually(() => JSON.stringify(ids()) === JSON.stringify(expected), "the same devices", 20_000);
    expect(
      lists()
        .slice(listsBefore)
        .some((l) => l.devices.length === 0),
    ).toBe(false);
  }, 60_000);

  it("the monitor's persistent session keeps the pump's QoS 1 data while it is stopped", async () => {
    const device = lists()
      .at(-1)!
      .devices.find((d) => d.id.endsWith("/Pump"))!;
    const env = {
      ...akriEnvironment(device.id, device.properties),
      HOSTNAME: "monitor-amq",
      MONITOR_STATE_DIR: join(dir, "monitor-state"),
    };
    const again = await expectSessionKept(env, "Counter", () => counter, HUNG_UP);
    await again.stop();
  }, 60_000);
});
