import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscoverService } from "../akri/discover-service.js";
import { HandlerServer, handlerEndpoint } from "../akri/handler-server.js";
import { StatusServer } from "../akri/status-server.js";
import { EmbeddedBroker } from "../demo/embedded-broker.js";
import { defaultFleet, Fleet } from "../demo/fleet.js";
import { pageModes } from "../discovery/modes/modes.js";
import { log } from "../log.js";
import { ConnectionPool, connectionPool } from "../mqtt/connection-pool.js";
import { prepareLiveDiscovery } from "../streams/live-discovery.js";
import { DemoScreen } from "./demo-screen.js";
import { ListPrinter } from "./discover-command.js";
import { ServeMetrics } from "./serve-metrics.js";
import { durationSeconds, untilStopped } from "./until-stopped.js";
import { UsageError } from "./usage-error.js";

/**
 * The fleet page on `port` (default 8080; a free port when 8080 is taken), with the
 * service's streams, the demo's own discovery among them.
 */
async function startPage(
  port: string | undefined,
  service: DiscoverService,
): Promise<{ server: StatusServer; url: string }> {
  const wanted = port === undefined ? 8080 : Number(port);
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535)
    throw new UsageError(`--http-port must be a port number (0 picks a free one), got "${port}"`);
  const metrics = new ServeMetrics();
  const sources = {
    ready: () => ({ ok: true, detail: "demo" }),
    metrics: () => metrics.text(),
    metricsContentType: metrics.registry.contentType,
    inventory: service,
    counts: metrics.handler,
  };
  // On this machine's loopback only, so nothing but this machine's own clients reach it.
  const options = {
    host: "127.0.0.1",
    inventoryAccess: "loopback",
    allowedHosts: [],
    modes: pageModes,
  } as const;
  let server: StatusServer;
  try {
    server = await StatusServer.start({ ...options, port: wanted }, sources);
  } catch (e) {
    if (port !== undefined || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    server = await StatusServer.start({ ...options, port: 0 }, sources);
  }
  return { server, url: `http://127.0.0.1:${server.port}/` };
}

export interface DemoOptions {
  /** The fleet page's port (default 8080, or a free one when that is taken). */
  httpPort?: string;
  duration?: string;
  json?: boolean;
  /** How many independent embedded brokers the plant is spread over (its nodes move between them). */
  brokers?: string;
}

/** How much faster than real time the plant runs: AKRI_MQTT_DEMO_SPEED (default 1; the demo test's knob). */
function demoSpeed(value: string | undefined): number {
  if (value === undefined || value === "") return 1;
  const speed = Number(value);
  if (!(speed >= 0.1 && speed <= 100))
    throw new UsageError(`AKRI_MQTT_DEMO_SPEED must be a number from 0.1 to 100, got "${value}"`);
  return speed;
}

/** The demo clock, as "+m:ss" since `start`: real time times `speed`. */
function demoStamp(start: number, speed: number): () => string {
  return () => {
    const seconds = Math.floor(((Date.now() - start) * speed) / 1000);
    return `+${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
}

/**
 * `akri-mqtt demo` (= npm start): an embedded MQTT broker, a simulated Sparkplug plant in
 * it, and live discovery against it, shown as a live table. Ctrl-C stops everything.
 */
export async function demoCommand(options: DemoOptions): Promise<void> {
  const seconds = durationSeconds(options.duration);
  const speed = demoSpeed(process.env.AKRI_MQTT_DEMO_SPEED);
  // The title shows where everything is; the startup logs (serving, stream opened, connected)
  // would only scroll the screen. Warnings still go to stderr, and LOG_LEVEL=info shows them all.
  if (process.env.LOG_LEVEL === undefined) log.level = "warn";
  const count = Number(options.brokers ?? "1");
  if (!Number.isInteger(count) || count < 1 || count > 8)
    throw new UsageError(`--brokers must be a whole number from 1 to 8, got "${options.brokers}"`);
  const brokers: EmbeddedBroker[] = [];
  for (let i = 0; i < count; i++) brokers.push(await EmbeddedBroker.start());
  const urls = brokers.map((b) => b.url);
  // The Akri API too, on a local socket: try it with any gRPC client as the agent would.
  const sockets = await mkdtemp(join(tmpdir(), "akri-mqtt-demo-"));
  const pool = new ConnectionPool();
  const service = new DiscoverService({
    discover: (request) => prepareLiveDiscovery(request, { pool, suffix: "demo-api" }),
    metrics: new ServeMetrics().handler,
    onLastStreamCancelled: () => undefined,
  });
  const api = await HandlerServer.start(handlerEndpoint("mqtt", sockets, undefined), service.handler);
  const configuration = "akri-mqtt-demo";
  const detailsYaml = [
    count === 1
      ? `serverUrls: [${urls[0]}]`
      : `brokers: [${urls.map((u) => `{serverUrls: [${u}]}`).join(", ")}]`,
    // Aedes speaks MQTT 3.1.1 only: asking for 5 would be refused and fall back on every connect.
    "mqttVersion: 3",
    // So that the fleet page names its instances as the table does.
    `configurationName: ${configuration}`,
    "sparkplug:",
    "  discover: devices",
    "  properties:",
    "    HARDWARE_MAKE: Properties/Hardware Make",
    "    SERIAL_NUMBER: Properties/Serial",
  ].join("\n");
  // The demo's own discovery runs as a stream of the service, so that the fleet page shows it.
  const discovery = prepareLiveDiscovery({ details: detailsYaml, properties: {} }, { suffix: "demo" });
  if (!discovery.ok) throw new Error(discovery.error);
  const page = await startPage(options.httpPort, service);
  const fleetOptions = {
    ...defaultFleet,
    tickMs: defaultFleet.tickMs / speed,
    dataIntervalMs: defaultFleet.dataIntervalMs / speed,
  };
  const json = new ListPrinter({ json: true, configuration, live: true, title: "" });
  const screen = options.json
    ? undefined
    : new DemoScreen({
        title: `akri-mqtt demo${speed === 1 ? "" : ` (×${speed})`} · fleet page ${page.url}`,
        endpoints: `embedded broker${count > 1 ? "s" : ""} ${urls.join(" ")} · Akri API unix://${api.endpoint.endpoint}`,
        configuration,
        devices: fleetOptions.groups.length * fleetOptions.nodesPerGroup * fleetOptions.devicesPerNode,
        stamp: demoStamp(Date.now(), speed),
      });
  const fleet = new Fleet(fleetOptions, (event) => screen?.event(event));
  const stopDiscovery = service.watch(discovery, (output) => {
    for (const emission of output.emissions) {
      if (screen) screen.list(emission);
      else json.print(emission);
    }
  });
  // Let discovery subscribe first, so that it sees the plant's births rather than asking for them.
  const connected = () => connectionPool.connections().filter((c) => c.isOnline).length >= count;
  for (let waited = 0; waited < 3000 && !connected(); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  fleet.start(urls);
  await untilStopped(seconds);
  stopDiscovery();
  api.refuseNewCalls();
  service.stopAll();
  await page.server.stop();
  await Promise.all([connectionPool.settled(), pool.settled()]);
  await api.stop();
  await rm(sockets, { recursive: true, force: true });
  fleet.stop();
  for (const broker of brokers) await broker.stop();
}
