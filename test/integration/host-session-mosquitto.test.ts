import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { jsonLines, runCli } from "../support/cli.js";
import { eventually, LiveHost } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { packetsFrom } from "../support/mosquitto-log.js";
import { connectEdge } from "../support/own-edge.js";
import { TahuEdgeNode } from "../support/tahu-edge.js";

/*
 * The host session against a real Mosquitto, with Eclipse Tahu's sparkplug-client as an
 * independent edge node, plus our own encoder where Tahu cannot go (it never increments
 * bdSeq, so it cannot make a stale NDEATH).
 */

describe.skipIf(!mosquittoAvailable())("host session model with Mosquitto and Tahu edge nodes", () => {
  let broker: Mosquitto;
  let host: LiveHost;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    host = await LiveHost.start(broker.url);
  });

  afterAll(async () => {
    await host?.stop();
    await broker?.stop();
  });

  it("follows births, a device death, an abrupt node kill and a late stale NDEATH", async () => {
    const motor = [{ name: "Speed", alias: 10, type: "Double", value: 1.5 }];
    const lineA = await TahuEdgeNode.start({
      url: broker.url,
      group: "Plant",
      edge: "LineA",
      devices: { Motor: motor, Pump: [{ name: "Flow", alias: 20, type: "Float", value: 2 }] },
    });
    const lineB = await TahuEdgeNode.start({
      url: broker.url,
      group: "Plant",
      edge: "LineB",
      devices: { Valve: motor },
    });

    // 1. Born.
    await eventually(
      () =>
        host.deviceStatus("Plant", "LineA", "Motor") === "online" &&
        host.deviceStatus("Plant", "LineA", "Pump") === "online" &&
        host.deviceStatus("Plant", "LineB", "Valve") === "online",
      "all devices online",
    );
    lineA.deviceData("Motor", [{ alias: 10, type: "Double", value: 2.5 }]);

    // 2. A device dies.
    lineA.deviceDeath("Pump");
    await eventually(() => host.deviceStatus("Plant", "LineA", "Pump") === "offline", "Pump offline");
    expect(host.nodeStatus("Plant", "LineA")).toBe("online");
    expect(host.deviceStatus("Plant", "LineA", "Motor")).toBe("online");

    // 3. A node is killed abruptly: the broker publishes its Will.
    await lineB.kill();
    await eventually(() => host.nodeStatus("Plant", "LineB") === "offline", "LineB offline through its Will");
    expect(host.deviceStatus("Plant", "LineB", "Valve")).toBe("offline");
    expect(host.nodeStatus("Plant", "LineA")).toBe("online");

    // 4. A node reconnects with a new bdSeq; the previous session's Will arrives after the new NBIRTH.
    const { client: oldSession } = await connectEdge(broker.url, "Plant", "LineC", 7n, "lineC-1");
    const { client: newSession } = await connectEdge(broker.url, "Plant", "LineC", 8n, "lineC-2");
    await eventually(() => host.session.node("Plant", "LineC")?.bdSeq === 8n, "LineC born with bdSeq 8");
    (oldSession as unknown as { stream: { destroy(): void } }).stream.destroy();
    await eventually(
      () =>
        host.events.some((e) => e.kind === "stale-death-ignored" && e.edge === "LineC" && e.bdSeq === "7"),
      "the old Will arrives and is ignored",
    );
    expect(host.nodeStatus("Plant", "LineC")).toBe("online");
    expect(host.deviceStatus("Plant", "LineC", "Drive")).toBe("online");

    // ... and the current session's Will still counts.
    (newSession as unknown as { stream: { destroy(): void } }).stream.destroy();
    await eventually(
      () => host.nodeStatus("Plant", "LineC") === "offline",
      "LineC offline through its current Will",
    );

    await lineA.stop();
    await eventually(
      () => host.nodeStatus("Plant", "LineA") === "offline",
      "LineA offline after a graceful NDEATH",
    );
    oldSession.end(true);
    newSession.end(true);
  });

  it("asks an edge node that it never saw born for a rebirth, and the Tahu node answers", async () => {
    const line = await TahuEdgeNode.start({
      url: broker.url,
      group: "Late",
      edge: "Node",
      devices: { Dev: [] },
    });
    const fresh = await LiveHost.start(broker.url, { rebirth: { jitterMs: 0 } });
    try {
      line.deviceData("Dev", [{ name: "Speed", type: "Double", value: 1 }]);
      await eventually(() => fresh.deviceStatus("Late", "Node", "Dev") === "online", "rebirth answered");
      expect(fresh.events.filter((e) => e.kind === "rebirth-requested")).toHaveLength(1);
      expect(line.birthCount).toBe(2);
    } finally {
      await fresh.stop();
      await line.stop();
    }
  });
});

describe.skipIf(!mosquittoAvailable())("rebirth requests of hosts that share a broker", () => {
  let broker: Mosquitto;

  beforeAll(async () => {
    broker = await Mosquitto.start();
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it("two hosts sharing the broker: the second sends no rebirth for nodes the first just asked", async () => {
    // The first host asks at once; the second waits up to a second, long enough to see the first's NCMD.
    const first = await LiveHost.start(broker.url, { rebirth: { jitterMs: 0, maxPerSecond: 1000 } });
    const second = await LiveHost.start(broker.url, { rebirth: { jitterMs: 1000 } });
    const watcher = mqtt.connect(broker.url, { clientId: "ncmd-watcher" });
    const ncmds = new Map<string, number>();
    watcher.on("message", (topic) => ncmds.set(topic, (ncmds.get(topic) ?? 0) + 1));
    await watcher.subscribeAsync("spBv1.0/Storm/NCMD/#");
    const publisher = mqtt.connect(broker.url, { clientId: "storm-publisher" });
    await new Promise<void>((resolve) => publisher.once("connect", () => resolve()));
    try {
      for (let i = 0; i < 50; i++) {
        const edge = new EdgeNodeEncoder("Storm", `Edge${i}`, 0n, [
          { name: "T", alias: 1, datatype: DataType.Int32, value: 0 },
        ]);
        edge.nbirth(Date.now()); // never published: both hosts meet the node through its DATA
        const data = edge.ndata({ T: 1 }, Date.now());
        publisher.publish(data.topic, Buffer.from(data.payload));
      }
      await eventually(() => ncmds.size === 50, "every node asked once", 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(
        [...ncmds.values()].filter((n) => n !== 1),
        JSON.stringify([...ncmds]),
      ).toStrictEqual([]);

      expect(first.events.filter((e) => e.kind === "rebirth-requested")).toHaveLength(50);
      expect(second.events.filter((e) => e.kind === "rebirth-requested")).toHaveLength(0);
      expect(second.events.filter((e) => e.kind === "rebirth-observed").length).toBeGreaterThanOrEqual(50);
    } finally {
      await first.stop();
      await second.stop();
      await watcher.endAsync();
      await publisher.endAsync();
    }
  });
});

describe.skipIf(!mosquittoAvailable())("the host's session establishment, as the broker logs it", () => {
  let broker: Mosquitto;

  beforeAll(async () => {
    // Mosquitto logs every packet it receives: the record the TCK's interceptor would see.
    broker = await Mosquitto.start({ extraConfig: ["log_type all"] });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  /** Runs `discover --once` with these details; the client id it connected with. */
  const discoverOnce = async (details: string): Promise<string> => {
    const file = join(await mkdtemp(join(tmpdir(), "akri-mqtt-session-")), "details.yaml");
    await writeFile(file, details);
    const result = await runCli(["discover", "--details", file, "--json", "--once"], { timeoutMs: 15_000 });
    expect(result.code, result.stderr).toBe(0);
    const connected = jsonLines(result.stderr).find((l) => l.msg === "connected to broker");
    expect(connected, result.stderr).toBeDefined();
    return String(connected!.clientId);
  };

  it("subscribes to spBv1.0/# and its own STATE topic in one SUBSCRIBE before its STATE birth (TCK SessionEstablishmentTest)", async () => {
    const clientId = await discoverOnce(`serverUrls: [${broker.url}]\n`);
    const packets = packetsFrom(broker.output, clientId);
    const will = packets.find((p) => p.kind === "will");
    expect(will?.topics[0], broker.output).toMatch(/^spBv1\.0\/STATE\/[^/]+$/);
    const stateTopic = will!.topics[0]!;
    const birth = packets.findIndex((p) => p.kind === "publish" && p.topics[0] === stateTopic);
    expect(birth, "the STATE birth").toBeGreaterThan(0);
    expect(packets.findIndex((p) => p.kind === "publish")).toBe(birth); // the first thing it publishes
    const before = packets.slice(0, birth).filter((p) => p.kind === "subscribe");
    // The TCK's checkSubscribes: the literal spBv1.0/# and one of these three.
    const ownState = [stateTopic, "spBv1.0/STATE/+", "spBv1.0/STATE/#"];
    expect(
      before.some((p) => p.topics.includes("spBv1.0/#") && p.topics.some((t) => ownState.includes(t))),
      JSON.stringify(packets),
    ).toBe(true);
  });

  it("with a groupIds Include filter: only those groups' namespace, and STATE through spBv1.0/STATE/+", async () => {
    const clientId = await discoverOnce(
      `serverUrls: [${broker.url}]\nclientId: grouped\nsparkplug: {groupIds: {action: Include, items: [Plant]}}\n`,
    );
    const packets = packetsFrom(broker.output, clientId);
    const subscribed = packets.filter((p) => p.kind === "subscribe").flatMap((p) => p.topics);
    expect(subscribed).toContain("spBv1.0/Plant/#");
    expect(subscribed).toContain("spBv1.0/STATE/+");
    expect(subscribed).not.toContain("spBv1.0/#");
  });
});
