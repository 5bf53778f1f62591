import mqtt, { type MqttClient } from "mqtt";
import { expect } from "vitest";
import { jsonLines } from "./cli.js";
import { eventually } from "./live-host.js";
import { MonitorProcess } from "./monitor-process.js";

/*
 * What every broker's test (ActiveMQ, NATS) checks alike: how our connection came up, read
 * from our JSON log, and the monitor's persistent session, proven by stopping a monitor
 * while its device keeps publishing at QoS 1.
 */

type LogLine = Record<string, unknown> & { msg: string };

export const logLines = (text: string): LogLine[] => jsonLines(text).filter((l): l is LogLine => "msg" in l);

/**
 * The connection's story: the fallback (`fallback`, a log message's start), then "connected
 * to broker" on MQTT 3.1.1, with no failed attempt in between.
 */
export function expectFallbackTo311(log: string, fallback: string): void {
  const lines = logLines(log);
  const fellBack = lines.findIndex((l) => l.msg.startsWith(fallback));
  const connected = lines.findIndex((l) => l.msg === "connected to broker");
  expect(fellBack, log).toBeGreaterThanOrEqual(0);
  expect(connected, log).toBeGreaterThan(fellBack);
  expect(lines[connected]!.protocolVersion).toBe(4);
  expect(
    lines.filter((l) => l.msg === "cannot connect to broker"),
    log,
  ).toStrictEqual([]);
}

/** A plain MQTT 3.1.1 client of the test's (a device, a watcher), connected. */
export async function plainClient(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId, reconnectPeriod: 200 });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return client;
}

/**
 * Starts a monitor with `env` (an Akri broker pod's) that sees `metric` count up, after
 * `fallback` to MQTT 3.1.1; stops it for 3 s while `counter()` keeps counting at QoS 1, and
 * starts it again: its history must hold every value published meanwhile, in order. Returns
 * the restarted monitor (the caller stops it).
 */
export async function expectSessionKept(
  env: Record<string, string>,
  metric: string,
  counter: () => number,
  fallback: string,
): Promise<MonitorProcess> {
  const value = async (m: MonitorProcess) =>
    Number((await m.state()).metrics.find((x) => x.name === metric)?.value ?? 0);
  const first = await MonitorProcess.start(env);
  try {
    await eventually(async () => (await value(first)) > 0, `the monitor to see ${metric}`, 15_000);
    expectFallbackTo311(first.output, fallback);
  } finally {
    await first.stop();
  }
  const stoppedAt = counter();
  // Not a wait for something: long enough for the device to publish a few dozen messages while nobody listens.
  await new Promise((r) => setTimeout(r, 3000));
  const missed = counter() - stoppedAt;
  expect(missed).toBeGreaterThan(10);
  const again = await MonitorProcess.start(env);
  await eventually(
    async () => (await value(again)) > stoppedAt + missed,
    "the restarted monitor to catch up",
    15_000,
  ).catch(async (e) => {
    await again.stop();
    throw e;
  });
  const history = (await again.state()).metrics.find((x) => x.name === metric)!.history.map(([, v]) => v);
  const from = history.indexOf(stoppedAt + 1);
  expect(from, `history ${history.join(",")}`).toBeGreaterThanOrEqual(0);
  expect(history.slice(from, from + missed)).toStrictEqual(
    Array.from({ length: missed }, (_, i) => stoppedAt + 1 + i),
  );
  return again;
}
