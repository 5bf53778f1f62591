import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentProcess } from "../support/agent-process.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode } from "../support/tahu-edge.js";

/*
 * akri-mqtt serve against an agent that behaves as Akri 0.13's really does (see
 * agent-process.ts and akri-agent.ts for the sources each behaviour follows): restarted by
 * SIGKILL with its socket rebound at the same path, opening one more stream per request at
 * every registration, and deploying the handler with only what Akri's chart renders.
 */

/** The environment Akri's chart (custom-discovery-handler.yaml, 0.13.26) gives the handler's pod. */
function chartEnvironment(directory: string, podName: string): NodeJS.ProcessEnv {
  // DISCOVERY_HANDLERS_DIRECTORY is set by HandlerProcess; no AGENT_NODE_NAME, no POD_IP.
  return { DISCOVERY_HANDLERS_DIRECTORY: directory, HOSTNAME: podName, AGENT_NODE_NAME: "", POD_IP: "" };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("registration with an agent that restarts as Akri's does", () => {
  const running: { kill(): Promise<void> }[] = [];
  let handler: HandlerProcess | undefined;

  afterEach(async () => {
    await handler?.stop();
    handler = undefined;
    for (const agent of running.splice(0)) await agent.kill();
  });

  it("registers exactly once with each new agent, with no Discover stream open, however soon it rebinds", async () => {
    const directory = await mkdtemp(join(tmpdir(), "akri-agent-restart-"));
    let agent = await AgentProcess.start(directory);
    running.push(agent);
    handler = await HandlerProcess.start(directory, chartEnvironment(directory, "akri-mqtt-abcde"));
    await eventually(() => agent.registrations.length === 1, "the first registration", 10_000);

    const inodes: boolean[] = [];
    for (const delayMs of [0, 1000, 2500]) {
      const old = agent;
      await old.kill(); // its socket stays behind
      await sleep(delayMs);
      agent = await AgentProcess.start(directory); // removes it and binds the same path
      running.push(agent);
      inodes.push(agent.inode === old.inode);
      await eventually(
        () => agent.registrations.length >= 1,
        `a registration with the agent restarted after ${delayMs} ms`,
        10_000,
      );
      await sleep(3000);
      expect(agent.registrations.length, `registrations with the agent restarted after ${delayMs} ms`).toBe(
        1,
      );
    }
    // On ext4 the new socket usually has the old one's inode number: the case akri#558 hides.
    console.info(`agent sockets that reused the old inode number: ${inodes.filter(Boolean).length} of 3`);
    expect((await handler.get("/healthz")).status).toBe(200);
  }, 60_000);
});

describe.skipIf(!mosquittoAvailable())(
  "Discover streams and identity with the real agent's behaviour",
  () => {
    let broker: Mosquitto;
    const processes: { kill(): Promise<void> }[] = [];
    const nodes: TahuEdgeNode[] = [];

    beforeAll(async () => {
      broker = await Mosquitto.start();
    });

    afterAll(async () => {
      for (const node of nodes) await node.kill().catch(() => undefined);
      for (const p of processes) await p.kill();
      await broker?.stop();
    });

    const details = (group: string) => `serverUrls: [${broker.url}]
sparkplug:
  groupIds: {action: Include, items: [${group}]}
`;

    it("deleting one of two Configurations causes no new registration, and the other stream goes on alone", async () => {
      const directory = await mkdtemp(join(tmpdir(), "akri-agent-streams-"));
      const agent = await AgentProcess.start(directory);
      processes.push(agent);
      agent.apply("plant-a", details("A"));
      agent.apply("plant-b", details("B"));
      const handler = await HandlerProcess.start(directory, chartEnvironment(directory, "pod-1"));
      processes.push(handler);
      await eventually(
        () => agent.request("plant-a")?.open === 1 && agent.request("plant-b")?.open === 1,
        "one open stream per Configuration",
        10_000,
      );
      await eventually(
        async () => (await handler.metric("akri_mqtt_discover_streams")) === 2,
        "the handler serving both",
      );

      agent.delete("plant-a");
      await eventually(
        async () => (await handler.metric("akri_mqtt_discover_streams")) === 1,
        "the cancelled stream to close",
      );
      await sleep(3000);
      expect(agent.registrations.length).toBe(1);
      // Akri 0.13 would have opened a second stream for plant-b at a new registration.
      expect(agent.request("plant-b")).toMatchObject({ streams: 1, open: 1 });

      const node = await TahuEdgeNode.start({
        url: broker.url,
        group: "B",
        edge: "Line",
        devices: { Motor: [{ name: "Speed", alias: 1, type: "Double", value: 1 }] },
      });
      nodes.push(node);
      await eventually(
        () => JSON.stringify(agent.request("plant-b")?.ids) === JSON.stringify(["spBv1.0/B/Line/Motor"]),
        "plant-b to list the new device",
        10_000,
      );
      expect(agent.request("plant-b")).toMatchObject({ streams: 1, open: 1 });
    }, 60_000);

    it("keeps one client id and STATE host id per node across restarts with the chart's environment; another node has its own", async () => {
      // A broker of its own: what it retains at the end is this test's doing alone.
      const broker = await Mosquitto.start();
      processes.push({ kill: () => broker.stop() });
      const details = (group: string) => `serverUrls: [${broker.url}]
sparkplug:
  groupIds: {action: Include, items: [${group}]}
`;
      const nodeA = await mkdtemp(join(tmpdir(), "akri-node-a-"));
      const nodeB = await mkdtemp(join(tmpdir(), "akri-node-b-"));
      const agentA = await AgentProcess.start(nodeA);
      const agentB = await AgentProcess.start(nodeB);
      processes.push(agentA, agentB);
      agentA.apply("plant", details("Id"));
      agentB.apply("plant", details("Id"));

      const watcher = await mqtt.connectAsync(broker.url, { clientId: "state-watcher" });
      const births: string[] = [];
      watcher.on("message", (topic, payload, packet) => {
        // Live births only: a retained one is another pod's, from before.
        if (!packet.retain && JSON.parse(payload.toString()).online === true) births.push(topic);
      });
      await watcher.subscribeAsync("spBv1.0/STATE/#");

      /** One handler pod's life: its client id and the STATE topic it was born on. */
      const run = async (directory: string, podName: string, end: "stop" | "kill") => {
        const before = births.length;
        const pod = await HandlerProcess.start(directory, chartEnvironment(directory, podName));
        processes.push(pod);
        await eventually(() => births.length > before, `${podName}'s STATE birth`, 15_000);
        const connected = pod.output
          .split("\n")
          .filter((l) => l.includes('"msg":"connected to broker"'))
          .map((l) => JSON.parse(l) as { clientId: string });
        if (end === "stop") expect(await pod.stop(), pod.output).toBe(0);
        else await pod.kill(); // its Will is the STATE death
        return { clientId: connected[0]?.clientId, stateTopic: births.at(-1) };
      };

      const lives = [
        await run(nodeA, "akri-mqtt-discovery-daemonset-x7k2p", "stop"),
        await run(nodeA, "akri-mqtt-discovery-daemonset-9wq4m", "kill"),
        await run(nodeA, "akri-mqtt-discovery-daemonset-h3v8n", "stop"),
        await run(nodeA, "akri-mqtt-discovery-daemonset-b5t1z", "stop"),
      ];
      const other = await run(nodeB, "akri-mqtt-discovery-daemonset-q2r6d", "stop");
      await watcher.endAsync();

      // The same identity in every life on node A, and another one on node B.
      expect(new Set(lives.map((l) => l.clientId)).size).toBe(1);
      expect(new Set(lives.map((l) => l.stateTopic)).size).toBe(1);
      expect(other.clientId).not.toBe(lives[0]!.clientId);
      expect(other.stateTopic).not.toBe(lives[0]!.stateTopic);
      // Kept in the node-local directory the chart mounts.
      const kept = (await readFile(join(nodeA, "mqtt.node-id"), "utf8")).trim();
      expect(lives[0]).toStrictEqual({
        clientId: `akri-mqtt-${kept}`,
        stateTopic: `spBv1.0/STATE/akri-mqtt-${kept}`,
      });

      // What the broker keeps: one retained STATE per node, not one per pod that ever ran.
      const retained = new Set<string>();
      const reader = await mqtt.connectAsync(broker.url, { clientId: "retained-reader" });
      reader.on("message", (topic, _payload, packet) => {
        if (packet.retain) retained.add(topic);
      });
      await reader.subscribeAsync("spBv1.0/STATE/#");
      await sleep(1000);
      await reader.endAsync();
      expect([...retained].sort()).toStrictEqual([lives[0]!.stateTopic, other.stateTopic].sort());
    }, 120_000);
  },
);
