import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestAgent } from "../support/akri-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { mappedId } from "../support/mapped-id.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * akri-mqtt serve as an Akri discovery handler, with a test agent on the other side of the
 * registration socket and of Discover, and Tahu edge nodes in a real Mosquitto.
 */

const motor: TahuMetric[] = [
  { name: "Speed", alias: 1, type: "Double", value: 1 },
  { name: "Properties/Hardware Model", alias: 2, type: "String", value: "M-9" },
];

describe.skipIf(!mosquittoAvailable())("akri-mqtt serve with a test Akri agent", () => {
  let broker: Mosquitto;
  let directory: string;
  let handler: HandlerProcess;
  let agent: TestAgent;
  const nodes: TahuEdgeNode[] = [];

  const details = (group: string) => `serverUrls: [${broker.url}]
sparkplug:
  groupIds: {action: Include, items: [${group}]}
  properties: {HARDWARE_MODEL: Properties/Hardware Model}
configurationName: akri-sparkplug
`;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    directory = await mkdtemp(join(tmpdir(), "akri-handlers-"));
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    agent = new TestAgent(directory);
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await handler?.stop();
    await agent?.stop();
    await broker?.stop();
  });

  it("registers once the agent appears, and is healthy only then", async () => {
    expect((await handler.get("/healthz")).status).toBe(503);
    await new Promise((r) => setTimeout(r, 1500));
    await agent.start();
    const registered = await agent.waitForRegistrations(1);
    expect(registered).toStrictEqual({
      name: "mqtt",
      endpoint: join(directory, "mqtt.sock"),
      endpoint_type: "UDS",
      shared: true,
    });
    await eventually(() => existsSync(join(directory, "mqtt.sock")), "the handler socket");
    // Healthy as soon as the agent's answer is back (the agent has the request a moment before).
    await eventually(async () => (await handler.get("/healthz")).status === 200, "/healthz 200", 5000);
  });

  it("streams the devices of Tahu edge nodes as they are born and die", async () => {
    const call = agent.discover(agent.registrations[0]!, details("Akri"));
    await eventually(() => call.lists.length >= 1, "the first list, promptly");
    expect(call.lists[0]).toStrictEqual([]);
    const line = await TahuEdgeNode.start({
      url: broker.url,
      group: "Akri",
      edge: "Line",
      devices: { Motor: motor, Pump: motor },
    });
    nodes.push(line);
    // The mapped value is part of each id (the README's rule), so a changed one is a new Instance.
    const model = { HARDWARE_MODEL: "M-9" };
    const motorId = mappedId("spBv1.0/Akri/Line/Motor", model);
    await call.waitForIds([motorId, mappedId("spBv1.0/Akri/Line/Pump", model)], "born");
    expect(call.lists.at(-1)?.find((d) => d.id === motorId)?.properties).toStrictEqual({
      MQTT_BROKER_URI: broker.url,
      SPARKPLUG_GROUP_ID: "Akri",
      SPARKPLUG_EDGE_NODE_ID: "Line",
      SPARKPLUG_DEVICE_ID: "Motor",
      SPARKPLUG_DATA_TOPIC: "spBv1.0/Akri/DDATA/Line/Motor",
      HARDWARE_MODEL: "M-9",
    });
    expect(await handler.metric('akri_mqtt_devices{status="online"}')).toBe(2);
    line.deviceDeath("Pump");
    await call.waitForIds([motorId], "Pump died");
    const inventory = JSON.parse((await handler.get("/devices")).body) as {
      devices: { id: string; instanceName: string }[];
    }[];
    expect(inventory[0]?.devices[0]).toMatchObject({
      id: motorId,
      instanceName: expect.stringMatching(/^akri-sparkplug-[0-9a-f]{6}$/),
    });
    await line.kill();
    await call.waitForIds([], "the node was killed");
    expect(call.ended).toBe(false);
    expect(call.error).toBeUndefined();
    call.cancel();
  });

  it.each([
    [
      "an unknown mode",
      "serverUrls: [tcp://b:1883]\nmode: bogus",
      'mode: expected one of "sparkplug", "reference", "generic", got "bogus"',
    ],
    ["missing serverUrls", "topics: [a/#]", "serverUrls: required"],
    ["malformed YAML", "serverUrls: [tcp://b:1883\nmode: x", "discoveryDetails is not valid YAML"],
    [
      "a FilterList without items",
      "serverUrls: [tcp://b:1883]\nsparkplug: {groupIds: {action: Include}}",
      "sparkplug.groupIds.items: required",
    ],
    [
      "an inventoryAccess that is neither loopback nor cluster",
      "serverUrls: [tcp://b:1883]\ninventoryAccess: everyone",
      'inventoryAccess: expected one of "loopback", "cluster", got "everyone"',
    ],
  ])("refuses %s with INVALID_ARGUMENT naming the problem, at call time", async (_what, yaml, message) => {
    const call = agent.discover(agent.registrations[0]!, yaml);
    const error = await call.waitForError();
    expect(error.code).toBe(3); // INVALID_ARGUMENT
    expect(error.details).toContain(message);
    expect(call.lists).toStrictEqual([]);
  });

  it("refuses discoveryProperties that are not usable, naming the property", async () => {
    const call = agent.discover(agent.registrations[0]!, details("X"), {
      MQTT_CA_CERT: Buffer.from("not a certificate"),
    });
    const error = await call.waitForError();
    expect(error.code).toBe(3);
    expect(error.details).toBe(
      "discoveryProperties: MQTT_CA_CERT: expected a PEM block (-----BEGIN ...-----)",
    );
  });

  it("frees the broker connection when the agent cancels the call", async () => {
    const call = agent.discover(agent.registrations[0]!, details("Cancel"));
    await eventually(() => call.lists.length >= 1, "a first list");
    await eventuallyAsync(
      async () => (await handler.metric("akri_mqtt_broker_connections")) === 1,
      "one connection",
    );
    call.cancel();
    await eventuallyAsync(
      async () => (await handler.metric("akri_mqtt_broker_connections")) === 0,
      "connection closed",
    );
  });

  it("registers again when the agent restarts (new socket), and only once", async () => {
    const before = agent.registrations.length;
    await agent.stop();
    await agent.start();
    await agent.waitForRegistrations(before + 1);
    await new Promise((r) => setTimeout(r, 3000));
    expect(agent.registrations.length).toBe(before + 1); // no periodic re-registration
  });

  it("two handlers on two nodes report identical ids and properties", async () => {
    const other = await mkdtemp(join(tmpdir(), "akri-handlers-b-"));
    const secondAgent = new TestAgent(other);
    await secondAgent.start();
    const second = await HandlerProcess.start(other, { AGENT_NODE_NAME: "node-b" });
    try {
      const b = await secondAgent.waitForRegistrations(1);
      const a = agent.registrations.at(-1)!;
      const callA = agent.discover(a, details("Twin"));
      const callB = secondAgent.discover(b, details("Twin"));
      // Both connected and subscribed (their first lists are out) before the node is born.
      await eventually(() => callA.lists.length >= 1 && callB.lists.length >= 1, "both first lists");
      const twin = await TahuEdgeNode.start({
        url: broker.url,
        group: "Twin",
        edge: "E",
        devices: { Motor: motor },
      });
      nodes.push(twin);
      const id = mappedId("spBv1.0/Twin/E/Motor", { HARDWARE_MODEL: "M-9" });
      await callA.waitForIds([id], "node A");
      await callB.waitForIds([id], "node B");
      expect(callB.lists.at(-1)).toStrictEqual(callA.lists.at(-1));
      callA.cancel();
      callB.cancel();
    } finally {
      expect(await second.stop()).toBe(0);
      await secondAgent.stop();
    }
  });

  it("with POD_IP set, serves Discover on TCP port 10000 and registers it as a NETWORK endpoint", async () => {
    // Port 10000 is fixed (the README's promise): a loopback address of its own keeps it free.
    const podIp = await loopbackAddressWithFreePort(10000);
    const other = await mkdtemp(join(tmpdir(), "akri-handlers-pod-ip-"));
    const tcpAgent = new TestAgent(other);
    await tcpAgent.start();
    const pod = await HandlerProcess.start(other, { AGENT_NODE_NAME: "node-tcp", POD_IP: podIp });
    try {
      const registered = await tcpAgent.waitForRegistrations(1);
      expect(registered).toStrictEqual({
        name: "mqtt",
        endpoint: `http://${podIp}:10000`,
        endpoint_type: "NETWORK",
        shared: true,
      });
      expect(existsSync(join(other, "mqtt.sock"))).toBe(false);
      const call = tcpAgent.discover(registered, details("Tcp"));
      await eventually(() => call.lists.length >= 1, "a first list over TCP");
      expect(call.error).toBeUndefined();
      call.cancel();
    } finally {
      expect(await pod.stop()).toBe(0);
      await tcpAgent.stop();
    }
  });

  it("on SIGTERM publishes its STATE death, removes its socket and exits 0", async () => {
    const watcher = mqtt.connect(broker.url, { clientId: "state-watcher" });
    const states: { topic: string; online: boolean }[] = [];
    watcher.on("message", (topic, payload) => {
      if (payload.length > 0) states.push({ topic, online: JSON.parse(payload.toString()).online });
    });
    await watcher.subscribeAsync("spBv1.0/STATE/#");
    const call = agent.discover(agent.registrations.at(-1)!, details("Shutdown"));
    await eventually(
      () => states.some((s) => s.topic === "spBv1.0/STATE/akri-mqtt-node-a" && s.online),
      "STATE online",
    );
    expect(await handler.stop()).toBe(0);
    await eventually(() => states.at(-1)?.online === false, "STATE offline");
    expect(existsSync(join(directory, "mqtt.sock"))).toBe(false);
    call.cancel();
    await watcher.endAsync();
  });
});

/** A 127.x.y.z address on which `port` can be bound now (every 127/8 address is the loopback's). */
async function loopbackAddressWithFreePort(port: number): Promise<string> {
  for (let tries = 0; tries < 20; tries++) {
    const address = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, address, () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return address;
    }
  }
  throw new Error(`no loopback address with port ${port} free`);
}

async function eventuallyAsync(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
