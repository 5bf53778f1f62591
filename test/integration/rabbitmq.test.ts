import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CliProcess, jsonLines } from "../support/cli.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment, MonitorProcess } from "../support/monitor-process.js";
import { RabbitMq, rabbitMqAvailable } from "../support/rabbitmq.js";
import { ResilientEdge } from "../support/resilient-edge.js";

/*
 * A real RabbitMQ 3.10 (Debian 12's, with its MQTT plugin and mqtt.sparkplug = true): it
 * cannot parse an MQTT 5 CONNECT and closes the connection without a CONNACK. With the
 * default details (mqttVersion 5) discovery and the device monitor must fall back to MQTT
 * 3.1.1 at once, say so, and then work as with any broker.
 */

type LogLine = Record<string, unknown> & { msg: string; time: string };

const logLines = (text: string): LogLine[] => jsonLines(text).filter((l): l is LogLine => "msg" in l);

/** The connection's story: the fallback, then "connected" at once, with no failed attempt between. */
function expectImmediateFallback(log: string): void {
  const lines = logLines(log);
  const fallback = lines.findIndex((l) => l.msg.startsWith("the broker hung up on our MQTT 5 CONNECT"));
  const connected = lines.findIndex((l) => l.msg === "connected to broker");
  expect(fallback, log).toBeGreaterThanOrEqual(0);
  expect(connected, log).toBeGreaterThan(fallback);
  expect(lines[connected]!.protocolVersion).toBe(4);
  // At once: no failed round and so no backoff between the hang-up and the MQTT 3.1.1
  // connection (how long that takes is the benchmarks' business, not a test's).
  expect(lines.slice(0, connected).filter((l) => l.msg === "cannot connect to broker")).toStrictEqual([]);
}

describe.skipIf(!rabbitMqAvailable())("RabbitMQ 3.10, which hangs up on MQTT 5", () => {
  let rabbit: RabbitMq;
  const processes: { stop(): Promise<unknown> }[] = [];
  const edges: ResilientEdge[] = [];

  beforeAll(async () => {
    rabbit = await RabbitMq.start();
  }, 90_000);

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.stop();
    for (const e of edges.splice(0)) await e.kill();
  });

  afterAll(async () => {
    await rabbit?.stop();
  }, 30_000);

  it("discovery with default details falls back to MQTT 3.1.1 at once, logs it, and lists the devices; so does the monitor", async () => {
    const details = join(await mkdtemp(join(tmpdir(), "akri-mqtt-rabbitmq-")), "details.yaml");
    await writeFile(details, `serverUrls: [${rabbit.url}]\n`);
    const discover = new CliProcess(["discover", "--details", details, "--json"], { LOG_LEVEL: "info" });
    processes.push(discover);
    await eventually(
      () => discover.stderr.includes('"msg":"connected to broker"'),
      "discovery to connect",
      10_000,
    );
    expectImmediateFallback(discover.stderr);
    // It really was RabbitMQ that could not read our MQTT 5 CONNECT.
    expect(rabbit.output).toMatch(/MQTT cannot parse a frame/);

    const edge = new ResilientEdge({
      urls: [rabbit.url],
      group: "Rabbit",
      edge: "Line",
      devices: ["Pump", "Fan"],
      dataEveryMs: 200,
    });
    edges.push(edge);
    await edge.start();
    const lists = () =>
      jsonLines(discover.stdout) as { devices: { id: string; properties: Record<string, string> }[] }[];
    await eventually(
      () =>
        edge.ids.every((id) =>
          lists()
            .at(-1)
            ?.devices.some((d) => d.id === id),
        ),
      "the edge node's devices listed",
      15_000,
    );

    // The workload Akri would start for one of them: the same broker, a persistent session.
    const pump = lists()
      .at(-1)!
      .devices.find((d) => d.id.endsWith("/Pump"))!;
    const monitor = await MonitorProcess.start({
      ...akriEnvironment(pump.id, pump.properties),
      HOSTNAME: "monitor-rabbit",
      MONITOR_STATE_DIR: await mkdtemp(join(tmpdir(), "akri-mqtt-rabbitmq-monitor-")),
    });
    processes.push(monitor);
    await eventually(
      () => monitor.output.includes('"msg":"connected to broker"'),
      "the monitor to connect",
      10_000,
    );
    expectImmediateFallback(monitor.output);
    await eventually(
      async () => {
        const state = await monitor.state();
        return (
          state.broker.connected && state.status === "online" && state.metrics.some((m) => m.name === "Value")
        );
      },
      "the monitor to show the pump's data",
      15_000,
    );
  }, 60_000);
});
