/*
 * The fleet page's poll: GET /devices?all=true through the handler's own HTTP server and
 * DiscoverService at 11,000 entities (1,000 edge nodes of 10 devices each, 20 birth metrics
 * and 2 mapped properties per device; `discover: devices`, so the 1,000 nodes are seen but
 * not listed, each with its reason). Per request, the milliseconds from asking to having
 * read the whole body, median of POLLS: while nothing changes between polls (what a page
 * left open on a quiet plant costs), and with a node reborn before every poll (the report
 * changes each time). The server's work is on the handler's event loop: discovery waits.
 * Run: npm run bench:inventory
 */
import { Registry } from "prom-client";
import { Subject } from "rxjs";
import { DiscoverService } from "../src/akri/discover-service.js";
import { HandlerMetrics } from "../src/akri/handler-metrics.js";
import { StatusServer } from "../src/akri/status-server.js";
import { parseDiscoveryDetails } from "../src/discovery/details.js";
import type { DiscoveryOutput } from "../src/discovery/discovery-request.js";
import { engineFor } from "../src/discovery/modes/discoverer-for.js";
import { FleetTraffic } from "./lib/fleet-traffic.js";
import { printTable, saveResults, sized } from "./lib/measure.js";

const NODES = sized("BENCH_INVENTORY_NODES", 1_000, 20);
const POLLS = sized("BENCH_INVENTORY_POLLS", 21, 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const parsed = parseDiscoveryDetails(
    [
      "serverUrls: [tcp://bench:1883]",
      "configurationName: bench",
      "sparkplug:",
      "  discover: devices",
      "  properties: {VALUE_0: Area 0/Value 0, VALUE_1: Area 1/Value 1}",
    ].join("\n"),
  );
  if (!parsed.ok) throw new Error(parsed.error);
  const engine = engineFor(parsed.details, { hostId: "bench" });
  const fleet = new FleetTraffic({ nodes: NODES, devices: 10, metrics: 20, dataMetrics: 1 });
  const outputs$ = new Subject<DiscoveryOutput>();
  const service = new DiscoverService({
    discover: () => ({ ok: false, error: "not used" }),
    metrics: new HandlerMetrics(new Registry()),
    onLastStreamCancelled: () => undefined,
  });
  service.watch(
    {
      ok: true,
      warnings: [],
      about: {
        mode: "sparkplug",
        configurationName: "bench",
        inventoryAccess: "loopback",
        brokers: () => [{ uri: "tcp://bench:1883", connected: true }],
      },
      outputs$,
      delivered: () => undefined,
    },
    () => undefined,
  );
  let now = 1_767_607_200_000;
  engine.start(now);
  outputs$.next(engine.step({ kind: "online", broker: "b", willTimestamp: now }, now));
  const births = (node: number) => {
    for (const publish of fleet.births(node, now)) {
      const message = { ...publish, at: now, broker: "b" };
      outputs$.next(engine.step({ kind: "message", message }, now));
    }
  };
  for (let n = 0; n < NODES; n++) births(n);
  // Past every coalescing window: the list goes out.
  const settle = () => {
    now += 10_000;
    outputs$.next(engine.step({ kind: "tick" }, now));
  };
  settle();

  const server = await StatusServer.start("127.0.0.1", 0, {
    ready: () => ({ ok: true, detail: "bench" }),
    metrics: async () => "",
    metricsContentType: "text/plain",
    devices: (all) => service.inventory(all),
    events: service.events,
  });
  const url = `http://127.0.0.1:${server.port}/devices?all=true`;
  const poll = async (): Promise<{ ms: number; bytes: number; entities: number }> => {
    const started = performance.now();
    const text = await (await fetch(url)).text();
    const ms = performance.now() - started;
    const streams = JSON.parse(text) as { devices: unknown[]; unlisted: unknown[] }[];
    const entities = streams.reduce((n, s) => n + s.devices.length + s.unlisted.length, 0);
    return { ms, bytes: text.length, entities };
  };

  const first = await poll();
  const quiet: number[] = [];
  for (let i = 0; i < POLLS; i++) quiet.push((await poll()).ms);
  const changing: number[] = [];
  for (let i = 0; i < POLLS; i++) {
    births(i % NODES);
    settle();
    changing.push((await poll()).ms);
  }
  await server.stop();

  const figures = {
    entities: first.entities,
    bodyBytes: first.bytes,
    quietMedianMs: median(quiet),
    changingMedianMs: median(changing),
  };
  printTable(
    ["entities", "body", "poll, nothing changed (median)", "poll, a node reborn before each (median)"],
    [
      [
        figures.entities,
        `${(figures.bodyBytes / 1e6).toFixed(1)} MB`,
        `${figures.quietMedianMs.toFixed(1)} ms`,
        `${figures.changingMedianMs.toFixed(1)} ms`,
      ],
    ],
  );
  await saveResults("inventory", figures);
}

await main();
