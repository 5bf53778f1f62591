import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceSnapshot } from "../../src/monitor/device-view.js";
import { DataType } from "../../src/sparkplug/datatype.js";
import { encodePayload } from "../../src/sparkplug/encode.js";
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath } from "../support/browser.js";
import { CliProcess, jsonLines, ROOT } from "../support/cli.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment, EventStreamReader, MonitorProcess } from "../support/monitor-process.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";
import { VersionGateProxy } from "../support/version-gate-proxy.js";

/*
 * akri-mqtt monitor, the workload Akri runs per discovered device, against Mosquitto and an
 * Eclipse Tahu edge node. The monitor gets only the environment Akri would give the pod:
 * the device's properties as `akri-mqtt discover` reports them, each as KEY and KEY_<HASH>.
 */

const pump: TahuMetric[] = [
  { name: "Counter", alias: 1, type: "Int32", value: 0 },
  { name: "Temperature", alias: 2, type: "Double", value: 20.5 },
  { name: "Running", alias: 3, type: "Boolean", value: true },
  { name: "Properties/Serial", alias: 4, type: "String", value: "P-77" },
];

const metricOf = (state: DeviceSnapshot, name: string) => state.metrics.find((m) => m.name === name);

describe.skipIf(!mosquittoAvailable())("akri-mqtt monitor with Mosquitto and a Tahu device", () => {
  let broker: Mosquitto;
  let edge: TahuEdgeNode;
  let env: Record<string, string>;
  /** The pump as discovery listed it. */
  let listed: { id: string; properties: Record<string, string> };
  let stateDir: string;
  let counter = 0;
  let publisher: NodeJS.Timeout;
  const monitors: MonitorProcess[] = [];

  const monitor = async (extra: Record<string, string> = {}) => {
    const m = await MonitorProcess.start({ ...env, ...extra });
    monitors.push(m);
    return m;
  };

  beforeAll(async () => {
    broker = await Mosquitto.start();
    edge = await TahuEdgeNode.start({
      url: broker.url,
      group: "Mon",
      edge: "Edge1",
      devices: { Pump: pump },
      qos: 1,
    });
    // 3.0-style DATA: alias and datatype, no name; readable only through the birth.
    publisher = setInterval(() => {
      counter++;
      edge.deviceData("Pump", [
        { alias: 1, type: "Int32", value: counter },
        { alias: 2, type: "Double", value: 20 + (counter % 10) / 10 },
      ]);
    }, 100);
    // The properties Akri would hand the broker pod, from the discovery handler itself.
    const dir = await mkdtemp(join(tmpdir(), "akri-monitor-"));
    const details = join(dir, "details.yaml");
    await writeFile(
      details,
      `serverUrls: [${broker.url}]\nsparkplug: {groupIds: {action: Include, items: [Mon]}}\n`,
    );
    // (The edge node was born before discovery started: discovery finds it by asking for a rebirth.)
    const discover = new CliProcess(["discover", "--details", details, "--json"], {
      AGENT_NODE_NAME: "node-m",
    });
    type Listed = { id: string; properties: Record<string, string> };
    const found = (): Listed | undefined =>
      jsonLines(discover.stdout)
        .flatMap((l) => l.devices as Listed[])
        .find((d) => d.id === "spBv1.0/Mon/Edge1/Pump");
    await eventually(() => found() !== undefined, "discover to list the pump", 20_000).finally(() =>
      discover.stop(),
    );
    const device = found()!;
    listed = device;
    stateDir = dir;
    env = {
      ...akriEnvironment(device.id, device.properties),
      HOSTNAME: "akri-sparkplug-pump-pod",
      MONITOR_STATE_DIR: join(dir, "state"),
    };
  }, 60_000);

  afterAll(async () => {
    clearInterval(publisher);
    for (const m of monitors) await m.stop();
    await edge?.stop();
    await broker?.stop();
  });

  it("reports the device's metrics and their updates through /state, /metrics and /events", async () => {
    const m = await monitor();
    await eventually(async () => (await m.state()).status === "online", "the device online", 15_000);
    const first = await m.state();
    expect(first).toMatchObject({
      id: "spBv1.0/Mon/Edge1/Pump",
      group: "Mon",
      edgeNode: "Edge1",
      device: "Pump",
      mode: "sparkplug",
    });
    expect(first.metrics.map((x) => [x.name, x.datatype])).toEqual(
      expect.arrayContaining([
        ["Counter", "Int32"],
        ["Temperature", "Double"],
        ["Running", "Boolean"],
        ["Properties/Serial", "String"],
      ]),
    );
    expect(metricOf(first, "Properties/Serial")?.value).toBe("P-77");
    // (Tahu's births always carry the initial values; DATA brings the current ones.)
    await eventually(
      async () => (metricOf(await m.state(), "Counter")?.history.length ?? 0) > 4,
      "the counter to advance in /state",
    );
    const later = await m.state();
    expect(metricOf(later, "Counter")?.stale).toBe(false);
    expect(metricOf(later, "Counter")?.history.length, JSON.stringify(later)).toBeGreaterThan(3);

    const metrics = (await m.get("/metrics")).body;
    const sample =
      /akri_mqtt_monitor_metric_value\{group="Mon",node="Edge1",device="Pump",metric="Counter"\} (\d+)/.exec(
        metrics,
      );
    expect(Number(sample?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/akri_mqtt_monitor_metric_value\{[^}]*metric="Running"\} 1/);
    expect(metrics).toMatch(/akri_mqtt_monitor_device_online 1/);

    const stream = new EventStreamReader(`${m.url}/events`);
    await eventually(
      () =>
        stream.events.filter((e) => e.event === "metric" && (e.data as { name: string }).name === "Counter")
          .length >= 5,
      "five Counter updates on /events",
    );
    stream.stop();
    expect(stream.events[0]?.event).toBe("state");
    const values = stream.events
      .filter((e) => e.event === "metric" && (e.data as { name: string }).name === "Counter")
      .map((e) => (e.data as { value: number }).value);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBe(values[i - 1]! + 1);
  }, 60_000);

  it("loses nothing the device published while it was stopped for 5 s (persistent session, QoS 1)", async () => {
    const m = monitors[0] ?? (await monitor());
    await eventually(async () => (await m.state()).status === "online", "the device online", 15_000);
    await m.stop();
    const stoppedAt = counter;
    await new Promise((r) => setTimeout(r, 5000));
    const missed = counter - stoppedAt;
    expect(missed).toBeGreaterThan(30);
    const births = edge.birthCount;
    const again = await monitor();
    await eventually(
      async () => Number(metricOf(await again.state(), "Counter")?.value) > stoppedAt + missed,
      "the restarted monitor to catch up",
      15_000,
    );
    const history = metricOf(await again.state(), "Counter")!.history.map(([, v]) => v);
    // Every value from before the stop to after the restart, in order, none missing.
    const from = history.indexOf(stoppedAt + 1);
    expect(from, `history ${history.join(",")}`).toBeGreaterThanOrEqual(0);
    const run = history.slice(from, from + missed + 1);
    expect(run).toStrictEqual(Array.from({ length: run.length }, (_, i) => stoppedAt + 1 + i));
    expect(run.length).toBe(missed + 1);
    // The saved birth's aliases may be out of date: the restarted monitor asks for a fresh
    // one, once its rebirth request's jitter has passed (a timer of the host session).
    await eventually(() => edge.birthCount > births, "a rebirth to confirm the saved birth", 15_000);
  }, 60_000);

  it("refuses POST /command unless enabled; enabled, the edge node gets a DCMD of the birth's datatype", async () => {
    const readOnly = monitors.at(-1) ?? (await monitor());
    const refused = await readOnly.post("/command", { metric: "Counter", value: 5 });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toMatch(/MONITOR_ALLOW_COMMANDS/);

    const writer = await monitor({ MONITOR_ALLOW_COMMANDS: "true", HOSTNAME: "akri-sparkplug-pump-writer" });
    await eventually(
      async () => (await writer.state()).metrics.length > 0,
      "the writer to know the birth",
      15_000,
    );
    expect((await writer.post("/command", { metric: "Nope", value: 1 })).status).toBe(400);
    const wrongType = await writer.post("/command", { metric: "Counter", value: "many" });
    expect(wrongType.status).toBe(400);
    expect(JSON.stringify(wrongType.body)).toMatch(/Int32 needs a whole number/);
    expect((await writer.post("/command", "metric=Counter", "text/plain")).status).toBe(415);

    const sent = await writer.post("/command", { metric: "Temperature", value: 42.5 });
    expect(sent).toMatchObject({
      status: 202,
      body: { topic: "spBv1.0/Mon/DCMD/Edge1/Pump", datatype: "Double" },
    });
    await eventually(() => edge.commands.length > 0, "the edge node to receive the DCMD");
    expect(edge.commands[0]).toMatchObject({
      device: "Pump",
      metrics: [expect.objectContaining({ name: "Temperature", type: "Double", value: 42.5 })],
    });
    expect((await writer.post("/command", { metric: "Counter", value: "7" })).status).toBe(202);
    await eventually(() => edge.commands.length > 1, "the second DCMD");
    expect(edge.commands[1]!.metrics).toEqual([
      expect.objectContaining({ name: "Counter", type: "Int32", value: 7 }),
    ]);

    // Not from another origin's page, not to a name that may be a DNS-rebinding domain.
    const json = { "content-type": "application/json" };
    const body = JSON.stringify({ metric: "Counter", value: 1 });
    const port = writer.httpPort;
    expect(
      (
        await writer.postWith("/command", body, {
          ...json,
          host: `127.0.0.1:${port}`,
          origin: "http://evil.example",
        })
      ).status,
    ).toBe(403);
    expect((await writer.postWith("/command", body, { ...json, host: `evil.example:${port}` })).status).toBe(
      403,
    );
    expect(
      (await writer.postWith("/command", body, { ...json, host: `akri-pump-svc.default.svc.cluster.local` }))
        .status,
    ).toBe(202);
    expect(
      (
        await writer.postWith("/command", body, {
          ...json,
          host: `127.0.0.1:${port}`,
          origin: `http://127.0.0.1:${port}`,
        })
      ).status,
    ).toBe(202);
    expect(edge.commands.length).toBeLessThanOrEqual(4);

    // With a token configured, commands need it.
    const guarded = await monitor({
      MONITOR_ALLOW_COMMANDS: "true",
      MONITOR_COMMAND_TOKEN: "t0ken-of-the-plant",
      HOSTNAME: "akri-sparkplug-pump-guarded",
    });
    await eventually(
      async () => (await guarded.state()).metrics.length > 0,
      "the guarded monitor to know the birth",
      15_000,
    );
    expect((await guarded.post("/command", { metric: "Counter", value: 2 })).status).toBe(401);
    expect(
      (await guarded.postWith("/command", body, { ...json, authorization: "Bearer t0ken-of-the-plant" }))
        .status,
    ).toBe(202);
    expect(guarded.output).not.toContain("t0ken-of-the-plant");
  }, 60_000);

  it.skipIf(!chromiumAvailable())(
    "the page shows the device's metrics updating live (headless Chromium)",
    async () => {
      const m = monitors.at(-1) ?? (await monitor());
      const browser = await chromium.launch({
        executablePath: chromiumPath()!,
        args: CHROMIUM_ARGS,
        headless: true,
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1100, height: 520 } });
        await page.goto(`${m.url}/`);
        const cell = page.locator('td.value[data-metric="Counter"]');
        await cell.waitFor({ timeout: 10_000 });
        const before = Number(await cell.textContent());
        // Values change on the page itself, pushed over /events (no reload).
        await page.waitForFunction(
          `Number(document.querySelector('td.value[data-metric="Counter"]')?.textContent) > ${before + 5}`,
          undefined,
          { timeout: 10_000 },
        );
        expect(await page.locator("#status").textContent()).toBe("online");
        expect(await page.locator("#device").textContent()).toBe("spBv1.0/Mon/Edge1/Pump");
        expect(await page.locator('td.value[data-metric="Properties/Serial"]').textContent()).toBe("P-77");
        const points =
          (await page.locator('tr[data-metric="Counter"] polyline').getAttribute("points")) ?? "";
        expect(points.split(" ").length).toBeGreaterThan(5);
        await page.screenshot({ path: join(ROOT, "test-results", "monitor-page.png"), fullPage: true });
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it("a generic device: every topic under its filter, JSON shown and exported, text and bytes as they are", async () => {
    const m = await MonitorProcess.start({
      ...akriEnvironment("r1", {
        MQTT_BROKER_URI: broker.url,
        MQTT_TOPIC: "robots/r1/#",
        MQTT_DEVICE_ID: "r1",
      }),
      HOSTNAME: "akri-robots-r1-pod",
    });
    monitors.push(m);
    await eventually(async () => (await m.state()).broker.connected, "the monitor to connect");
    const robot = await mqtt.connectAsync(broker.url, { clientId: "robot-r1" });
    try {
      await robot.publishAsync("robots/r1/joints", JSON.stringify({ angle: 5, moving: true }), { qos: 1 });
      await robot.publishAsync("robots/r1/name", "arm one", { qos: 1 });
      await robot.publishAsync("robots/r1/raw", Buffer.from([0xff, 0x00, 0xfe]), { qos: 1 });
      await robot.publishAsync("robots/r2/joints", JSON.stringify({ angle: 9 }), { qos: 1 });
      await eventually(async () => (await m.state()).metrics.length === 3, "three topics");
      await robot.publishAsync("robots/r1/joints", JSON.stringify({ angle: 6, moving: false }), { qos: 1 });
      await eventually(
        async () =>
          JSON.stringify(metricOf(await m.state(), "robots/r1/joints")?.value) ===
          '{"angle":6,"moving":false}',
        "the second reading",
      );
      const state = await m.state();
      expect(state).toMatchObject({ id: "r1", mode: "generic", topic: "robots/r1/#", status: "online" });
      expect(metricOf(state, "robots/r1/name")).toMatchObject({ value: "arm one", datatype: "Text" });
      expect(metricOf(state, "robots/r1/raw")).toMatchObject({
        value: { base64: "/wD+" },
        datatype: "Bytes",
      });
      const metrics = (await m.get("/metrics")).body;
      expect(metrics).toContain(
        'akri_mqtt_monitor_topic_value{device="r1",topic="robots/r1/joints",field="angle"} 6',
      );
      expect(metrics).toContain(
        'akri_mqtt_monitor_topic_value{device="r1",topic="robots/r1/joints",field="moving"} 0',
      );
    } finally {
      await robot.endAsync();
    }
  }, 30_000);

  it("asks the broker for a persistent session of a day, and takes commands addressed to MONITOR_ALLOWED_HOSTS", async () => {
    const gate = await VersionGateProxy.start(broker.port);
    try {
      const viaGate = { ...listed.properties, MQTT_BROKER_URI: gate.url };
      const m = await monitor({
        ...akriEnvironment(listed.id, viaGate),
        HOSTNAME: "akri-sparkplug-pump-session",
        MONITOR_STATE_DIR: join(stateDir, "session"),
        MONITOR_ALLOW_COMMANDS: "true",
        MONITOR_ALLOWED_HOSTS: "pump.plant.example, other.plant.example",
      });
      await eventually(async () => (await m.state()).status === "online", "the device online", 15_000);
      expect(gate.connects[0]).toStrictEqual({ level: 5, clean: false, sessionExpirySeconds: 86_400 });

      const body = JSON.stringify({ metric: "Temperature", value: 21.5 });
      const post = (host: string) =>
        m.postWith("/command", body, { "content-type": "application/json", host: `${host}:${m.httpPort}` });
      expect((await post("pump.plant.example")).status).toBe(202);
      expect((await post("OTHER.plant.example")).status).toBe(202);
      const refused = await post("unlisted.plant.example");
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/MONITOR_ALLOWED_HOSTS/);
    } finally {
      await gate.stop();
    }
  }, 30_000);

  it('shows birthSource "certificate" for a birth learnt from $sparkplug/certificates, until a live one comes', async () => {
    // A Sparkplug-aware broker republishes every NBIRTH and DBIRTH retained under
    // $sparkplug/certificates/ (Sparkplug 3.0, 10.2); Mosquitto is not one, so the test does it.
    // This edge node is gone: no live birth will come, and no rebirth request is answered.
    const now = Date.now();
    const certificates = await mqtt.connectAsync(broker.url, { clientId: "certificate-publisher" });
    try {
      await certificates.publishAsync(
        "$sparkplug/certificates/spBv1.0/Cert/NBIRTH/Gone",
        Buffer.from(
          encodePayload({
            timestamp: now,
            seq: 0,
            metrics: [{ name: "bdSeq", datatype: DataType.Int64, value: 0n }],
          }),
        ),
        { qos: 1, retain: true },
      );
      await certificates.publishAsync(
        "$sparkplug/certificates/spBv1.0/Cert/DBIRTH/Gone/Gauge",
        Buffer.from(
          encodePayload({
            timestamp: now,
            seq: 1,
            metrics: [{ name: "Level", alias: 1n, datatype: DataType.Double, value: 3.5 }],
          }),
        ),
        { qos: 1, retain: true },
      );
      // Its own pod: the gauge's environment only.
      const m = await MonitorProcess.start({
        ...akriEnvironment("spBv1.0/Cert/Gone/Gauge", {
          MQTT_BROKER_URI: broker.url,
          SPARKPLUG_GROUP_ID: "Cert",
          SPARKPLUG_EDGE_NODE_ID: "Gone",
          SPARKPLUG_DEVICE_ID: "Gauge",
          SPARKPLUG_DATA_TOPIC: "spBv1.0/Cert/DDATA/Gone/Gauge",
        }),
        HOSTNAME: "akri-sparkplug-gauge-pod",
        MONITOR_STATE_DIR: join(stateDir, "certificate"),
      });
      monitors.push(m);
      await eventually(
        async () => metricOf(await m.state(), "Level") !== undefined,
        "the birth from the certificate",
        15_000,
      );
      const state = await m.state();
      expect(state.birthSource).toBe("certificate");
      expect(metricOf(state, "Level")).toMatchObject({ datatype: "Double", value: 3.5 });
    } finally {
      await certificates.publishAsync("$sparkplug/certificates/spBv1.0/Cert/NBIRTH/Gone", "", {
        retain: true,
      });
      await certificates.publishAsync("$sparkplug/certificates/spBv1.0/Cert/DBIRTH/Gone/Gauge", "", {
        retain: true,
      });
      await certificates.endAsync();
    }
  }, 30_000);

  it("registers the optional Will, which the broker publishes when the monitor dies", async () => {
    const watcher = await mqtt.connectAsync(broker.url, { clientId: "will-watcher" });
    const wills: string[] = [];
    watcher.on("message", (_topic, payload) => wills.push(payload.toString()));
    await watcher.subscribeAsync("monitors/pump/status", { qos: 1 });
    const m = await monitor({
      HOSTNAME: "akri-sparkplug-pump-will",
      MONITOR_WILL_TOPIC: "monitors/pump/status",
      MONITOR_WILL_PAYLOAD: "monitor lost",
    });
    await eventually(async () => (await m.state()).broker.connected, "the monitor to connect");
    await m.kill();
    await eventually(() => wills.length > 0, "the Will", 10_000);
    expect(wills).toStrictEqual(["monitor lost"]);
    await watcher.endAsync();
  }, 30_000);
});
