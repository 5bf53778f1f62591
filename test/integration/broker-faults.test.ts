import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DiscoverCall, type Registered, TestAgent } from "../support/akri-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { ResilientEdge } from "../support/resilient-edge.js";
import { TakeoverNoticeProxy } from "../support/takeover-notice-proxy.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { VersionGateProxy } from "../support/version-gate-proxy.js";

/*
 * Broker faults, inflicted for real on `akri-mqtt serve` (with a test Akri agent reading
 * its lists): Mosquitto killed mid-traffic, a partition between the handler and the broker,
 * a broker that never answers CONNECT, failover between two brokers, and a broker that
 * refuses the client id. The handler must keep its last list through the outage, never
 * send an empty one, converge after, and say clearly what is wrong.
 */

const SETTLE = 30_000;

/** Every list a Discover call received after `from`: none empty, none with an id twice. */
function expectWholeLists(call: DiscoverCall, from: number, size: number): void {
  for (const list of call.lists.slice(from)) {
    const ids = list.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(size);
  }
}

/** Log lines (parsed) whose message is `msg`. */
function logLines(handler: HandlerProcess, msg: string): Record<string, unknown>[] {
  return handler.output
    .split("\n")
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!mosquittoAvailable())("broker faults against akri-mqtt serve", () => {
  let handler: HandlerProcess;
  let agent: TestAgent;
  let registered: Registered;
  const brokers: Mosquitto[] = [];
  const proxies: TcpProxy[] = [];
  const stoppers: { stop(): Promise<void> }[] = [];
  const edges: ResilientEdge[] = [];
  const calls: DiscoverCall[] = [];

  const broker = async (extraConfig: string[] = []) => {
    const b = await Mosquitto.start({ extraConfig });
    brokers.push(b);
    return b;
  };
  const fleet = async (urls: string[], group: string, nodes: number, devices = 3, node = "Node") => {
    const started: ResilientEdge[] = [];
    for (let n = 0; n < nodes; n++) {
      const edge = new ResilientEdge({
        urls,
        group,
        edge: `${node}${n}`,
        devices: Array.from({ length: devices }, (_, d) => `Dev${d}`),
        dataEveryMs: 100,
      });
      edges.push(edge);
      started.push(edge);
    }
    await Promise.all(started.map((e) => e.start()));
    return started;
  };
  const discover = (details: string) => {
    const call = agent.discover(registered, details);
    calls.push(call);
    return call;
  };
  const firstList = (call: DiscoverCall) => eventually(() => call.lists.length > 0, "the first list", 20_000);

  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), "akri-broker-faults-"));
    agent = new TestAgent(directory);
    await agent.start();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-f" });
    registered = await agent.waitForRegistrations(1);
  });

  afterEach(async () => {
    for (const call of calls.splice(0)) call.cancel();
    for (const edge of edges.splice(0)) await edge.kill();
  });

  afterAll(async () => {
    await handler?.stop();
    await agent?.stop();
    for (const p of proxies) await p.stop();
    for (const s of stoppers) await s.stop();
    for (const b of brokers) await b.stop();
  });

  it("keeps the list while Mosquitto is SIGKILLed mid-traffic, then converges with no duplicate and no empty list", async () => {
    const mosquitto = await broker();
    const call = discover(
      `serverUrls: [${mosquitto.url}]\nsparkplug: {groupIds: {action: Include, items: [Kill]}}`,
    );
    await firstList(call);
    const plant = await fleet([mosquitto.url], "Kill", 10);
    const expected = plant.flatMap((e) => e.ids);
    await call.waitForIds(expected, "the plant");
    const before = call.lists.length;
    const connectsBefore = (await handler.metric("akri_mqtt_broker_connects_total")) ?? 0;

    await mosquitto.kill();
    await new Promise((r) => setTimeout(r, 4000));
    // During the outage: not a single list (Akri would delete instances and their workloads).
    expect(call.lists.length).toBe(before);
    expect((await handler.get("/healthz")).status).toBe(200);

    await mosquitto.restart();
    await eventually(
      async () => ((await handler.metric("akri_mqtt_broker_connects_total")) ?? 0) > connectsBefore,
      "the handler to reconnect",
      SETTLE,
    );
    await eventually(() => plant.every((e) => e.connected), "the edge nodes to reconnect", SETTLE);
    // Re-learned: every node born again (on its own reconnect, or when asked), at most one request each.
    await eventually(
      async () => ((await handler.metric('akri_mqtt_births_total{entity="node",source="live"}')) ?? 0) >= 20,
      "ten nodes born twice",
      SETTLE,
    );
    await call.waitForIds(expected, "the same plant after the outage", SETTLE);
    expectWholeLists(call, before, expected.length);
    for (const edge of plant) expect(edge.rebirthRequests.length).toBeLessThanOrEqual(1);
    const lost = logLines(handler, "lost the broker connection; reconnecting").filter(
      (l) => l.broker === mosquitto.url,
    );
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost[0]!.retryInMs).toBeGreaterThan(0);
  }, 90_000);

  it("when only the handler loses the broker, it asks each node once for a rebirth, paced, and re-learns them", async () => {
    const mosquitto = await broker();
    const proxy = await TcpProxy.start(mosquitto.port);
    proxies.push(proxy);
    const call = discover(`serverUrls: [${proxy.url}]\nsparkplug: {rebirth: {maxPerSecond: 5}}`);
    await firstList(call);
    const plant = await fleet([mosquitto.url], "Partition", 10);
    const expected = plant.flatMap((e) => e.ids);
    await call.waitForIds(expected, "the plant");
    const before = call.lists.length;
    const requestsBefore =
      (await handler.metric('akri_mqtt_rebirths_requested_total{reason="stale-after-reconnect"}')) ?? 0;

    proxy.cut();
    await new Promise((r) => setTimeout(r, 3000));
    expect(call.lists.length).toBe(before);
    proxy.restore();

    // The edge nodes never noticed: only a rebirth request makes them publish births again.
    await eventually(
      () => plant.every((e) => e.rebirthRequests.length >= 1),
      "a rebirth request to every node",
      SETTLE,
    );
    await new Promise((r) => setTimeout(r, 2000));
    for (const edge of plant) expect(edge.rebirthRequests).toHaveLength(1);
    const times = plant.map((e) => e.rebirthRequests[0]!).sort((a, b) => a - b);
    // maxPerSecond 5: ten requests sent over at least 1.8 s, never two within 200 ms (send times).
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1800);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(199);
    expect(
      ((await handler.metric('akri_mqtt_rebirths_requested_total{reason="stale-after-reconnect"}')) ?? 0) -
        requestsBefore,
    ).toBe(10);
    await call.waitForIds(expected, "the plant, re-learned", SETTLE);
    expectWholeLists(call, before, expected.length);
  }, 90_000);

  it("a broker that accepts TCP but never answers CONNECT: times out with a hint and fails over to the next serverUrl", async () => {
    const mosquitto = await broker();
    const blackhole = await TcpProxy.start();
    proxies.push(blackhole);
    const plant = await fleet([mosquitto.url], "Blackhole", 2);
    const call = discover(
      `serverUrls: [${blackhole.url}, ${mosquitto.url}]\nsparkplug: {groupIds: {action: Include, items: [Blackhole]}}`,
    );
    await eventually(() => blackhole.connections > 0, "the handler to try the black hole");
    await eventually(
      () => logLines(handler, "cannot connect to broker").some((l) => l.broker === blackhole.url),
      "the connect timeout to be logged",
      20_000,
    );
    const failure = logLines(handler, "cannot connect to broker").find((l) => l.broker === blackhole.url)!;
    expect(failure.err).toBe("connack timeout");
    expect(failure.hint).toMatch(/never answered CONNECT/);
    expect(failure.next).toBe(mosquitto.url);
    // Edge nodes born before the handler arrived are found through rebirth requests.
    await call.waitForIds(
      plant.flatMap((e) => e.ids),
      "the plant, through the second broker",
      SETTLE,
    );
    expect(handler.exitCode).toBeUndefined();
  }, 90_000);

  it("fails over to the second broker when the first dies, without an empty list", async () => {
    const first = await broker();
    const second = await broker();
    const urls = [first.url, second.url];
    const call = discover(
      `serverUrls: [${urls.join(", ")}]\nsparkplug: {groupIds: {action: Include, items: [Failover]}}`,
    );
    await firstList(call);
    const plant = await fleet(urls, "Failover", 5);
    const expected = plant.flatMap((e) => e.ids);
    await call.waitForIds(expected, "the plant on the first broker");
    const before = call.lists.length;

    await first.kill();
    // Meanwhile a device dies: its node is reborn on the second broker without it.
    const dead = plant[0]!.ids[0]!;
    plant[0]!.killDevice(plant[0]!.aliveDevices[0]!);
    await eventually(
      () => logLines(handler, "connected to broker").some((l) => l.broker === second.url),
      "the handler to fail over to the second broker",
      SETTLE,
    );
    await eventually(() => plant.every((e) => e.connected), "the edge nodes to fail over", SETTLE);
    // And a node that was only ever on the second broker is born there.
    const [newcomer] = await fleet([second.url], "Failover", 1, 3, "Newcomer");
    const survivors = expected.filter((id) => id !== dead);
    // Only a handler reading the second broker knows either fact: the list kept from before
    // the outage has the dead device and not the newcomer.
    await call.waitForIds(
      [...survivors, ...newcomer!.ids],
      "the plant relearnt on the second broker",
      SETTLE,
    );
    // Through the failover: no empty list, no id twice, no survivor ever missing.
    for (const list of call.lists.slice(before)) {
      const ids = list.map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(survivors));
    }
    await first.restart();
  }, 90_000);

  it("a broker that refuses the client id: a clear error and a hint, retries with growing backoff, no crash", async () => {
    const strict = await broker(["clientid_prefixes edge-"]);
    const refused = discover(`serverUrls: [${strict.url}]`);
    await eventually(
      () => logLines(handler, "cannot connect to broker").filter((l) => l.broker === strict.url).length >= 3,
      "three refused attempts",
      20_000,
    );
    const attempts = logLines(handler, "cannot connect to broker").filter((l) => l.broker === strict.url);
    // Mosquitto answers a client id it does not accept with "not authorized" (others with "identifier rejected").
    expect(attempts[0]!.err).toMatch(/Not authorized|Client Identifier not valid|Identifier rejected/);
    expect(attempts[0]!.hint).toMatch(/"akri-mqtt-node-f".*clientId in discoveryDetails/);
    const delays = attempts.map((a) => Number(a.retryInMs));
    expect(delays[2]!).toBeGreaterThan(delays[0]!);
    expect(refused.error).toBeUndefined();
    expect(handler.exitCode).toBeUndefined();

    // With a client id the broker accepts, the same broker works.
    const plant = await fleet([strict.url], "Strict", 1);
    const accepted = discover(`serverUrls: [${strict.url}]\nclientId: edge-akri`);
    await accepted.waitForIds(plant[0]!.ids, "devices through the accepted client id", SETTLE);
  }, 60_000);
  it("a listener that hangs up on every CONNECT: MQTT 3.1.1 is tried at once, then a hint names mqttVersion, with backoff", async () => {
    const hangup = await TcpProxy.start();
    hangup.hangUp();
    proxies.push(hangup);
    const call = discover(`serverUrls: [${hangup.url}]\nclientId: hangup`);
    await eventually(
      () => logLines(handler, "cannot connect to broker").filter((l) => l.broker === hangup.url).length >= 2,
      "two failed rounds",
      20_000,
    );
    const fallbacks = handler.output
      .split("\n")
      .filter((l) => l.includes("hung up on our MQTT 5 CONNECT") && l.includes(hangup.url));
    expect(fallbacks.length).toBeGreaterThanOrEqual(2); // every round tries MQTT 5, then 3.1.1 at once
    const [first, second] = logLines(handler, "cannot connect to broker").filter(
      (l) => l.broker === hangup.url,
    );
    expect(first!.err).toBe("connection closed");
    expect(first!.hint).toMatch(/hung up without a CONNACK on MQTT 5 and on MQTT 3\.1\.1/);
    expect(first!.hint).toMatch(/set mqttVersion in discoveryDetails to 3/);
    expect(Number(second!.retryInMs)).toBeGreaterThan(0);
    expect(call.error).toBeUndefined();
    expect(handler.exitCode).toBeUndefined();
  }, 40_000);

  it("a broker that refuses MQTT 5 with CONNACK 0x84: MQTT 3.1.1 at once, logged, and the plant listed", async () => {
    const mosquitto = await broker();
    const gate = await VersionGateProxy.start(mosquitto.port, { refuseMqtt5: true });
    stoppers.push(gate);
    const plant = await fleet([mosquitto.url], "Refused", 1);
    const call = discover(
      `serverUrls: [${gate.url}]\nclientId: refused\nsparkplug: {groupIds: {action: Include, items: [Refused]}}`,
    );
    await call.waitForIds(plant[0]!.ids, "the plant, over MQTT 3.1.1", SETTLE);
    expect(logLines(handler, "broker refused MQTT 5; falling back to MQTT 3.1.1")).toMatchObject([
      { broker: gate.url },
    ]);
    const connected = logLines(handler, "connected to broker").filter((l) => l.broker === gate.url);
    expect(connected.map((l) => l.protocolVersion)).toStrictEqual([4]);
    // One MQTT 5 attempt, then 3.1.1 with no failed round between (and none since).
    expect(gate.connects.map((c) => c.level)).toStrictEqual([5, 4]);
    expect(logLines(handler, "cannot connect to broker").filter((l) => l.broker === gate.url)).toStrictEqual(
      [],
    );
  }, 60_000);

  it("mqttVersion: 3 connects with MQTT 3.1.1 only: no MQTT 5 CONNECT reaches the broker", async () => {
    const mosquitto = await broker();
    const gate = await VersionGateProxy.start(mosquitto.port);
    stoppers.push(gate);
    const plant = await fleet([mosquitto.url], "Three", 1);
    const call = discover(
      `serverUrls: [${gate.url}]\nclientId: three\nmqttVersion: 3\nsparkplug: {groupIds: {action: Include, items: [Three]}}`,
    );
    await call.waitForIds(plant[0]!.ids, "the plant", SETTLE);
    expect(gate.connects.map((c) => c.level)).toStrictEqual([4]);
  }, 60_000);

  it.each([3, 5])(
    "another client that keeps taking the handler's client id (MQTT %s; Mosquitto 2.0.11 says nothing): one clear error naming it, growing backoff, and the handler stays once it leaves",
    async (mqttVersion) => {
      const mosquitto = await broker();
      const prefix = `shared${mqttVersion}`;
      const call = discover(
        `serverUrls: [${mosquitto.url}]\nclientId: ${prefix}\nmqttVersion: ${mqttVersion}`,
      );
      const connects = () =>
        logLines(handler, "connected to broker").filter((l) => l.broker === mosquitto.url);
      await eventually(() => connects().length > 0, "the handler to connect");
      const clientId = String(connects()[0]!.clientId);
      expect(clientId).toBe(`${prefix}-node-f`);
      // The other party: reconnects 300 ms after each time it is thrown off, as a second handler would.
      const taker = mqtt.connect(mosquitto.url, {
        clientId,
        protocolVersion: mqttVersion === 5 ? 5 : 4,
        reconnectPeriod: 300,
      });
      taker.on("error", () => undefined);
      const errors = () =>
        handler.output
          .split("\n")
          .filter((l) => l.includes('"level":50') && l.includes(`client id \\"${clientId}\\"`))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      try {
        await eventually(() => errors().length > 0, "the error about the shared client id", 20_000);
        const [error] = errors();
        expect(error!.msg).toMatch(/closed our connection right after accepting it, 3 times in a row/);
        expect(error!.clientId).toBe(clientId);
        expect(error!.hint).toMatch(/give each its own \(clientId in discoveryDetails\)/);
        // Third in a row: 1-3 s already, where it used to be 0.25-0.75 s every time.
        expect(Number(error!.retryInMs)).toBeGreaterThanOrEqual(1000);
        const before = connects().length;
        await new Promise((r) => setTimeout(r, 5000));
        expect(connects().length - before).toBeLessThanOrEqual(2);
      } finally {
        await taker.endAsync(true);
      }
      // The other party is gone: the handler (connected, or at its next attempt) keeps its session.
      const plant = await fleet([mosquitto.url], `Shared${mqttVersion}`, 1);
      await call.waitForIds(plant[0]!.ids, "a device born after the other client left", SETTLE);
      const settled = connects().length;
      await new Promise((r) => setTimeout(r, 2000));
      expect(connects().length).toBe(settled);
      expect(errors()).toHaveLength(1);
    },
    60_000,
  );

  it("a broker that says it handed the session over (MQTT 5 DISCONNECT 0x8E): one forced takeover is one clear error at once", async () => {
    const mosquitto = await broker();
    const newer = await TakeoverNoticeProxy.start(mosquitto.port);
    stoppers.push(newer);
    discover(`serverUrls: [${newer.url}]\nclientId: notice`);
    const connects = () => logLines(handler, "connected to broker").filter((l) => l.broker === newer.url);
    await eventually(() => connects().length > 0, "the handler to connect");
    const clientId = String(connects()[0]!.clientId);
    const taker = mqtt.connect(newer.url, { clientId, protocolVersion: 5, reconnectPeriod: 0 });
    taker.on("error", () => undefined);
    const takenOver = () =>
      handler.output
        .split("\n")
        .filter((l) => l.includes("another connection took over our session") && l.includes(clientId))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      await eventually(() => takenOver().length > 0, "the takeover error", 10_000);
      const [error] = takenOver();
      expect(error!.level).toBe(50);
      expect(error!.msg).toContain(`our client id "${clientId}"`);
      expect(error!.err).toBe("the broker sent DISCONNECT 0x8E (Session taken over)");
      // It comes back (throwing the one-off taker out) and stays.
      await eventually(() => connects().length >= 2, "the handler to reconnect", 10_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(connects()).toHaveLength(2);
      expect(takenOver()).toHaveLength(1);
    } finally {
      await taker.endAsync(true);
    }
  }, 40_000);
});
