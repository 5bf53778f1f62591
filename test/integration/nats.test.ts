import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestAgent } from "../support/akri-agent.js";
import { expectFallbackTo311, expectSessionKept, logLines, plainClient } from "../support/broker-matrix.js";
import { CliProcess, jsonLines } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment } from "../support/monitor-process.js";
import { NatsServer, natsAvailable } from "../support/nats.js";

/*
 * A real NATS server 2.9 (Debian 12's) with MQTT enabled: it refuses an MQTT 5 CONNECT with
 * a CONNACK (return code 1), so discovery and the monitor fall back to MQTT 3.1.1 at once;
 * and it rejects every topic with a ".", so generic discovery works on it and Sparkplug
 * (spBv1.0/…) cannot: the handler must say so once, and not retry in a loop.
 */

type Listed = { id: string; properties: Record<string, string> };

/** NATS answers our MQTT 5 CONNECT with a CONNACK refusing the version. */
const REFUSED = "broker refused MQTT 5; falling back to MQTT 3.1.1";

describe.skipIf(!natsAvailable())("NATS server 2.9, which refuses MQTT 5 and topics with a '.'", () => {
  let nats: NatsServer;
  let dir: string;
  let discover: CliProcess;
  let publisher: MqttClient;
  const processes: { stop(): Promise<unknown> }[] = [];

  const lists = () => jsonLines(discover.stdout) as { devices: Listed[] }[];
  const ids = () => (lists().at(-1)?.devices ?? []).map((d) => d.id);

  beforeAll(async () => {
    nats = await NatsServer.start();
    dir = await mkdtemp(join(tmpdir(), "akri-mqtt-nats-test-"));
    publisher = await plainClient(nats.url, "nats-plant");
  }, 30_000);

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.stop();
  });

  afterAll(async () => {
    await discover?.stop();
    await publisher?.endAsync();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("generic discovery with default details falls back to MQTT 3.1.1 at once and lists devices, a retained one too", async () => {
    // Retained news counts when it says it is recent (generic discovery's rule).
    await publisher.publishAsync("plant/m1/telemetry", JSON.stringify({ temp: 20, timestamp: Date.now() }), {
      qos: 1,
      retain: true,
    });
    const details = join(dir, "generic.yaml");
    await writeFile(details, `serverUrls: [${nats.url}]\ntopics: [plant/+/telemetry]\n`);
    discover = new CliProcess(["discover", "--details", details, "--json"], { LOG_LEVEL: "info" });
    await eventually(() => ids().includes("plant/m1/telemetry"), "the retained device listed", 15_000);
    expectFallbackTo311(discover.stderr, REFUSED);
    // It really was NATS that refused our MQTT 5 CONNECT.
    expect(nats.output).toMatch(/unacceptable protocol version of 5/);

    await publisher.publishAsync("plant/m2/telemetry", "1", { qos: 1 });
    await eventually(() => ids().includes("plant/m2/telemetry"), "a live device listed", 10_000);
    expect(
      lists()
        .at(-1)
        ?.devices.find((d) => d.id === "plant/m2/telemetry")?.properties,
    ).toMatchObject({
      MQTT_BROKER_URI: nats.url,
      MQTT_TOPIC: "plant/m2/telemetry",
    });
  }, 40_000);

  it("after a NATS crash and restart, discovery reconnects, keeps its list and lists what comes next", async () => {
    const before = ids();
    expect(before).toContain("plant/m2/telemetry");
    const listsBefore = lists().length;
    const connects = () => logLines(discover.stderr).filter((l) => l.msg === "connected to broker").length;
    const connected = connects();
    await nats.restart();
    await eventually(() => connects() > connected, "discovery to reconnect", 20_000);
    await eventually(() => publisher.connected, "the plant to reconnect", 10_000);
    await publisher.publishAsync("plant/m3/telemetry", "1", { qos: 1 });
    await eventually(() => ids().includes("plant/m3/telemetry"), "a device after the restart", 10_000);
    // An outage never empties the list (generic discovery pauses its idle clock).
    expect(ids()).toEqual(expect.arrayContaining(before));
    expect(
      lists()
        .slice(listsBefore)
        .some((l) => l.devices.length === 0),
    ).toBe(false);
  }, 40_000);

  it("the monitor's persistent session keeps QoS 1 messages while it is stopped, and its Will goes out when it dies", async () => {
    const device = lists()
      .at(-1)!
      .devices.find((d) => d.id === "plant/m2/telemetry")!;
    let counter = 0;
    const publishing = setInterval(() => {
      counter++;
      void publisher.publishAsync("plant/m2/telemetry", String(counter), { qos: 1 }).catch(() => undefined);
    }, 100);
    const watcher = await plainClient(nats.url, "nats-watcher");
    const wills: string[] = [];
    watcher.on("message", (topic, payload) => wills.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync("monitors/m2/status", { qos: 1 });
    const env = {
      ...akriEnvironment(device.id, device.properties),
      HOSTNAME: "monitor-nats",
      MONITOR_STATE_DIR: join(dir, "monitor-state"),
      MONITOR_WILL_TOPIC: "monitors/m2/status",
      MONITOR_WILL_PAYLOAD: "gone",
    };
    try {
      const again = await expectSessionKept(env, "plant/m2/telemetry", () => counter, REFUSED);
      processes.push(again);
      expect(wills).toStrictEqual([]);
      await again.kill();
      await eventually(() => wills.length > 0, "the monitor's Will", 10_000);
      expect(wills).toStrictEqual(["monitors/m2/status gone"]);
    } finally {
      clearInterval(publishing);
      await watcher.endAsync();
    }
  }, 60_000);

  describe("Sparkplug, which cannot work on NATS", () => {
    let directory: string;
    let handler: HandlerProcess;
    let agent: TestAgent;

    beforeAll(async () => {
      directory = join(dir, "handlers");
      await mkdir(directory);
      handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-n" });
      agent = new TestAgent(directory);
      await agent.start();
      await agent.waitForRegistrations(1);
    }, 30_000);

    afterAll(async () => {
      await handler?.stop();
      await agent?.stop();
    });

    it("says once that the broker rejects topics with a '.', counts it, shows it on /devices, and does not retry in a loop", async () => {
      const call = agent.discover(agent.registrations[0]!, `serverUrls: [${nats.url}]\nsparkplug: {}\n`);
      const rejection = /this broker rejects topics containing '\.', such as Sparkplug's spBv1\.0\//;
      const errors = () => logLines(handler.output).filter((l) => rejection.test(l.msg));
      await eventually(() => errors().length > 0, "the clear error", 15_000);
      expect(errors()[0]).toMatchObject({
        level: 50,
        willTopic: expect.stringMatching(/^spBv1\.0\/STATE\//),
      });
      expect(errors()[0]!.msg).toMatch(/use generic discovery/);
      // It really was NATS rejecting the Will topic of our 3.1.1 CONNECT.
      expect(nats.output).toMatch(/characters ' ' and '\.' not supported for MQTT topics/);

      // What a loop would have done meanwhile: the backoff (500 ms, doubling) retries 3-4 times in 5 s.
      await new Promise((r) => setTimeout(r, 5000));
      expect(errors()).toHaveLength(1);
      const misleading = logLines(handler.output).filter(
        (l) => l.msg === "cannot connect to broker" || /is this an MQTT listener/.test(String(l.hint)),
      );
      expect(misleading).toStrictEqual([]);
      expect(nats.output.match(/not supported for MQTT topics/g)).toHaveLength(1);
      expect(await handler.metric("akri_mqtt_broker_dotted_topics_rejected_total")).toBe(1);

      const inventory = JSON.parse((await handler.get("/devices")).body) as {
        brokers: { uri: string; connected: boolean; problem?: string }[];
      }[];
      expect(inventory[0]?.brokers).toStrictEqual([
        { uri: nats.url, connected: false, problem: expect.stringMatching(rejection) },
      ]);
      // The stream stays open with an empty list: ending it would make the agent call again at once.
      expect(call.lists.at(-1)).toStrictEqual([]);
      expect(call.error).toBeUndefined();
      call.cancel();
    }, 40_000);

    it("without a STATE Will it connects, and the refused spBv1.0/# subscription gets the same clear error, not an ACL guess", async () => {
      const call = agent.discover(
        agent.registrations[0]!,
        `serverUrls: [${nats.url}]\nsparkplug: {publishState: false}\nclientId: akri-mqtt-nowill\n`,
      );
      const refusal = /refused the subscriptions spBv1\.0\/#.*this broker rejects topics containing '\.'/;
      await eventually(
        () => logLines(handler.output).some((l) => refusal.test(l.msg)),
        "the clear error",
        15_000,
      );
      expect(logLines(handler.output).filter((l) => /ACL\?/.test(l.msg))).toStrictEqual([]);
      expect(await handler.metric("akri_mqtt_broker_dotted_topics_rejected_total")).toBe(2);
      const inventory = JSON.parse((await handler.get("/devices")).body) as {
        brokers: { connected: boolean; problem?: string }[];
      }[];
      expect(inventory.at(-1)?.brokers).toStrictEqual([
        { uri: nats.url, connected: true, problem: expect.stringMatching(refusal) },
      ]);
      call.cancel();
    }, 30_000);
  });
});
