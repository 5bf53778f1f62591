import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { type DiscoverCall, RawDiscoverCall, type Registered, TestAgent } from "../support/akri-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { ResilientEdge } from "../support/resilient-edge.js";

/*
 * Agent faults against `akri-mqtt serve`: Discover streams cancelled while a multi-megabyte
 * list is on the wire, an agent that stops reading (the handler must keep only the latest
 * list, not a queue of them), and 20 concurrent Discover calls with different
 * configurations on shared brokers. (The agent's registration socket absent at start and
 * re-created on restart is proven in akri-handler.test.ts.)
 */

/** A plant big enough that each list is megabytes, with one device that keeps dying and coming back. */
class BigPlant {
  readonly nodes: EdgeNodeEncoder[] = [];
  private client: MqttClient | undefined;
  private flapping = true;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly group: string,
    nodeCount: number,
    readonly devicesPerNode: number,
  ) {
    for (let n = 0; n < nodeCount; n++) {
      const edge = new EdgeNodeEncoder(group, `Node${n}`, 1n, []);
      for (let d = 0; d < devicesPerNode; d++)
        edge.defineDevice(`Device${d}`, {
          metrics: [
            { name: "Value", alias: 1, datatype: DataType.Int32, value: d },
            { name: "Properties/Serial", alias: 2, datatype: DataType.String, value: `SN-${n}-${d}` },
          ],
        });
      this.nodes.push(edge);
    }
  }

  get deviceCount(): number {
    return this.nodes.length * this.devicesPerNode - (this.flapping ? 0 : 1);
  }

  /** Births, then an NDATA from every node every 2 s; a rebirth request is answered with births. */
  async publishBirths(url: string): Promise<void> {
    const client = await mqtt.connectAsync(url, { clientId: `plant-${this.group}`, reconnectPeriod: 0 });
    this.client = client;
    await client.subscribeAsync(`spBv1.0/${this.group}/NCMD/+`, { qos: 0 });
    client.on("message", (topic) => {
      const edge = this.nodes.find((e) => e.edge === topic.split("/")[3]);
      if (edge) this.births(edge);
    });
    for (const edge of this.nodes) this.births(edge);
    await client.publishAsync(`plant/${this.group}/flush`, "", { qos: 1 });
    this.heartbeat = setInterval(() => {
      for (const edge of this.nodes) {
        const p = edge.ndata({}, Date.now());
        client.publish(p.topic, Buffer.from(p.payload), { qos: 0 });
      }
    }, 2000);
  }

  private births(edge: EdgeNodeEncoder): void {
    const now = Date.now();
    const publishes = edge.births(now);
    // Device0 of Node0 may be dead just now: its rebirth leaves it out.
    const alive =
      edge === this.nodes[0] && !this.flapping
        ? publishes.filter((p) => !p.topic.endsWith("/Device0"))
        : publishes;
    for (const p of alive) this.client?.publish(p.topic, Buffer.from(p.payload), { qos: 0 });
  }

  /** Device0 of Node0 dies and is reborn every `everyMs`: a new list each time. */
  churn(everyMs: number): void {
    const edge = this.nodes[0]!;
    this.timer = setInterval(() => {
      const p = this.flapping ? edge.ddeath("Device0", Date.now()) : edge.dbirth("Device0", Date.now());
      this.flapping = !this.flapping;
      this.client?.publish(p.topic, Buffer.from(p.payload), { qos: 0 });
    }, everyMs);
  }

  stopChurn(): void {
    clearInterval(this.timer);
  }

  async stop(): Promise<void> {
    this.stopChurn();
    clearInterval(this.heartbeat);
    await this.client?.endAsync(true);
  }
}

describe.skipIf(!mosquittoAvailable())("agent faults against akri-mqtt serve", () => {
  let brokers: Mosquitto[] = [];
  let handler: HandlerProcess;
  let agent: TestAgent;
  let registered: Registered;
  let plant: BigPlant;
  const edges: ResilientEdge[] = [];

  beforeAll(async () => {
    brokers = [await Mosquitto.start(), await Mosquitto.start()];
    const directory = await mkdtemp(join(tmpdir(), "akri-agent-faults-"));
    agent = new TestAgent(directory);
    await agent.start();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    registered = await agent.waitForRegistrations(1);
    // 12,000 devices: each list is about 3 MB.
    plant = new BigPlant("Big", 48, 250);
    await plant.publishBirths(brokers[0]!.url);
    plant.churn(300);
  }, 60_000);

  afterAll(async () => {
    await plant?.stop();
    for (const edge of edges) await edge.kill();
    await handler?.stop();
    await agent?.stop();
    for (const b of brokers) await b.stop();
  });

  /** Waits for a list with the whole plant (Device0 of Node0 comes and goes). */
  const waitForPlant = async (listed: () => number, what: string) => {
    await eventually(() => listed() >= 11_999, what, 45_000).catch(async (e) => {
      const metrics = (await handler.get("/metrics")).body
        .split("\n")
        .filter((l) => /^akri_mqtt_(protocol|seq|reorder|rebirth|births|deaths|decode)/.test(l));
      throw new Error(`${(e as Error).message}: ${listed()} listed; ${metrics.join("; ")}`);
    });
  };

  const bigDetails = () =>
    `serverUrls: [${brokers[0]!.url}]\nsparkplug: {groupIds: {action: Include, items: [Big]}}`;

  it("streams cancelled while a 3 MB list is on the wire: the handler carries on and frees what they held", async () => {
    const first = agent.discover(registered, bigDetails());
    // Born before this discovery started: found through NDATA and rebirth requests.
    await waitForPlant(() => first.lists.at(-1)?.length ?? 0, "all 12,000 devices");

    // Calls that stop reading at once and are cancelled with a list stuck half-sent, and
    // calls cancelled at random moments while lists flow.
    for (let i = 0; i < 6; i++) {
      const call = new RawDiscoverCall(registered, bigDetails());
      if (i % 2 === 0) call.pause();
      await new Promise((r) => setTimeout(r, 300 + 250 * i));
      call.cancel();
    }
    first.cancel();
    await eventually(
      async () => (await handler.metric("akri_mqtt_discover_streams")) === 0,
      "every stream to be closed",
      10_000,
    );
    await eventually(
      async () => (await handler.metric("akri_mqtt_broker_connections")) === 0,
      "the broker connection to be released",
      10_000,
    );
    expect(handler.exitCode).toBeUndefined();
    // And the next Discover works as the first did.
    const again = agent.discover(registered, bigDetails());
    await waitForPlant(() => again.lists.at(-1)?.length ?? 0, "the plant again");
    again.cancel();
  }, 120_000);

  it("an agent that stops reading: only the latest list is kept, memory stays bounded, and it catches up", async () => {
    const stuck = new RawDiscoverCall(registered, bigDetails());
    await waitForPlant(() => stuck.received.at(-1)?.devices ?? 0, "the plant");
    stuck.pause();
    const superseded = async () => (await handler.metric("akri_mqtt_device_lists_superseded_total")) ?? 0;
    const heap = async () => (await handler.metric("akri_mqtt_nodejs_heap_size_used_bytes")) ?? 0;
    const supersededBefore = await superseded();
    const heapBefore = await heap();
    // About 20 new lists of 3 MB each while the agent reads nothing.
    await new Promise((r) => setTimeout(r, 20_000));
    const dropped = (await superseded()) - supersededBefore;
    const heapGrowth = (await heap()) - heapBefore;
    expect(dropped).toBeGreaterThanOrEqual(10);
    // A queue of 20 lists would be 60 MB; the handler holds one in flight and the latest.
    expect(heapGrowth).toBeLessThan(30 * 1024 * 1024);
    expect(handler.exitCode).toBeUndefined();

    plant.stopChurn();
    const receivedBefore = stuck.received.length;
    stuck.resume();
    await eventually(
      () => stuck.received.at(-1)?.devices === plant.deviceCount,
      "the agent to catch up with the latest list",
      15_000,
    );
    // Caught up with at most: one list already in HTTP/2's buffers, the one in flight, the
    // latest one waiting, and the one made as the churn stopped (not the 20 it missed).
    expect(stuck.received.length - receivedBefore).toBeLessThanOrEqual(4);
    expect(stuck.received.at(-1)!.devices).toBe(plant.deviceCount);
    stuck.cancel();
  }, 90_000);

  it("20 concurrent Discover calls with different configurations on two shared brokers each get exactly their devices", async () => {
    const groups = ["A", "B", "C", "D"];
    for (const [b, broker] of brokers.entries())
      for (const group of groups)
        for (let n = 0; n < 2; n++) {
          const edge = new ResilientEdge({
            urls: [broker.url],
            group: `Shared${group}`,
            edge: `B${b}N${n}`,
            devices: ["M1", "M2"],
            dataEveryMs: 200,
          });
          edges.push(edge);
        }
    await Promise.all(edges.map((e) => e.start()));
    const idsOn = (b: number, group: string) =>
      edges
        .filter((e) => e.options.urls[0] === brokers[b]!.url && e.options.group === `Shared${group}`)
        .flatMap((e) => e.ids);

    const calls: { call: DiscoverCall; expected: string[] }[] = [];
    for (let i = 0; i < 20; i++) {
      const b = i % 2;
      const group = groups[i % 4]!;
      // [top-level keys, sparkplug keys]: MQTT version, host id and client id need their own
      // connections; grace and filters do not.
      const [top, sparkplug] = (
        [
          ["", ""],
          ["mqttVersion: 3\n", ""],
          ["", "hostId: other-host, "],
          [`clientId: akri-${i % 3}\n`, ""],
          ["offlineGraceSeconds: 5\n", ""],
        ] as const
      )[i % 5]!;
      const details = `serverUrls: [${brokers[b]!.url}]\n${top}sparkplug: {${sparkplug}groupIds: {action: Include, items: [Shared${group}]}}`;
      calls.push({ call: agent.discover(registered, details), expected: idsOn(b, group) });
    }
    for (const { call, expected } of calls) await call.waitForIds(expected, "each call's devices", 30_000);

    // Settings that differ need their own connections, and each one keeps its session:
    // no two share a client id, so none throws another off the broker.
    const connections = (await handler.metric("akri_mqtt_broker_connections")) ?? 0;
    expect(connections).toBeGreaterThan(2);
    expect(connections).toBeLessThan(20);
    const connects = (await handler.metric("akri_mqtt_broker_connects_total")) ?? 0;
    await new Promise((r) => setTimeout(r, 4000));
    expect(await handler.metric("akri_mqtt_broker_connects_total")).toBe(connects);
    for (const { call, expected } of calls) {
      expect(call.ids()).toStrictEqual([...expected].sort());
      expect(call.error).toBeUndefined();
      call.cancel();
    }
  }, 90_000);
});
