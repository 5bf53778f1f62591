/*
 * A plant behind the handler's own HTTP server, in this process: 1,000 edge nodes (or
 * `nodes`) of 10 devices, 20 birth metrics and 2 mapped properties each, run through an
 * engine on a virtual clock (`discover: devices`, so the nodes are seen but not listed, each
 * with its reason) into a DiscoverService stream, served by a StatusServer on a free
 * loopback port: /devices, /activity and the fleet page as a handler serves them.
 */
import { Registry } from "prom-client";
import { Subject } from "rxjs";
import { DiscoverService } from "../../src/akri/discover-service.js";
import { HandlerMetrics } from "../../src/akri/handler-metrics.js";
import { StatusServer } from "../../src/akri/status-server.js";
import type { DiscoveryOutput } from "../../src/discovery/discovery-request.js";
import { engineFor, pageModes, parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import { FleetTraffic } from "./fleet-traffic.js";

export interface ServedPlant {
  server: StatusServer;
  /** Publishes node `n`'s births again (a rebirth). */
  births(n: number): void;
  /** Moves past every coalescing window: the list goes out. */
  settle(): void;
}

export async function servedPlant(nodes: number): Promise<ServedPlant> {
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
  const engine = engineFor(parsed.details, { suffix: "bench" });
  const fleet = new FleetTraffic({ nodes, devices: 10, metrics: 20, dataMetrics: 1 });
  const outputs$ = new Subject<DiscoveryOutput>();
  const metrics = new HandlerMetrics(new Registry());
  const service = new DiscoverService({
    discover: () => ({ ok: false, error: "not used" }),
    metrics,
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
  for (let n = 0; n < nodes; n++) births(n);
  const settle = () => {
    now += 10_000;
    outputs$.next(engine.step({ kind: "tick" }, now));
  };
  settle();
  const server = await StatusServer.start(
    { host: "127.0.0.1", port: 0, inventoryAccess: "loopback", allowedHosts: [], modes: pageModes },
    {
      ready: () => ({ ok: true, detail: "bench" }),
      metrics: async () => "",
      metricsContentType: "text/plain",
      inventory: service,
      counts: metrics,
    },
  );
  return { server, births, settle };
}
