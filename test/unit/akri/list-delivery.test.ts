import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { DiscoverService } from "../../../src/akri/discover-service.js";
import { HandlerMetrics } from "../../../src/akri/handler-metrics.js";
import { HandlerServer, handlerEndpoint } from "../../../src/akri/handler-server.js";
import type { DiscoveredDevice } from "../../../src/discovery/device.js";
import type { DiscoveryOutput } from "../../../src/discovery/discovery-request.js";
import { RawDiscoverCall } from "../../support/akri-agent.js";
import { eventually } from "../../support/live-host.js";

/*
 * The handler tells its discovery how long each list took to reach the agent, so that lists
 * close their coalescing window that much earlier. Through real gRPC over a Unix socket, with
 * an agent that stops reading (its HTTP/2 window shut, as RawDiscoverCall does): the time is
 * reported once the list is written out, and includes the agent's stall.
 */

function device(i: number): DiscoveredDevice {
  const id = `spBv1.0/Plant/Edge-${i % 100}/Device-${String(i).padStart(5, "0")}`;
  return {
    id,
    kind: "sparkplug-device",
    properties: { SPARKPLUG_DATA_TOPIC: id.replace("/Edge", "/DDATA/Edge") },
  };
}

/** A list made now. */
function emissionOf(devices: DiscoveredDevice[]) {
  return {
    at: Date.now(),
    devices,
    statusOf: () => "online" as const,
    brokerOf: () => undefined,
    unlisted: () => [],
    factsOf: () => undefined,
  };
}

describe("list delivery time", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A DiscoverService with one stream from a RawDiscoverCall agent; what its discovery was told. */
  async function serve() {
    const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-delivery-"));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    const outputs = new Subject<DiscoveryOutput>();
    const delivered: number[] = [];
    const service = new DiscoverService({
      discover: () => ({
        ok: true,
        warnings: [],
        about: {
          mode: "sparkplug",
          configurationName: undefined,
          inventoryAccess: "loopback",
          brokers: () => [],
        },
        outputs$: outputs,
        delivered: (ms) => delivered.push(ms),
      }),
      metrics: new HandlerMetrics(new Registry()),
      onLastStreamCancelled: () => undefined,
    });
    const endpoint = handlerEndpoint("mqtt", directory, undefined);
    const server = await HandlerServer.start(endpoint, service.handler);
    cleanup.push(() => server.stop());
    const agent = new RawDiscoverCall(
      { name: "mqtt", endpoint: endpoint.socketPath!, endpoint_type: "UDS", shared: true },
      "serverUrls: [tcp://plant:1883]",
    );
    cleanup.push(() => agent.cancel());
    await eventually(() => service.size === 1, "the stream to open");
    return { outputs, delivered, agent };
  }

  it("is reported when the agent has taken the list, stalls included", async () => {
    const { outputs, delivered, agent } = await serve();
    agent.pause();
    // Some 3 MB: more than the agent's 2 MiB HTTP/2 stream window.
    const devices = Array.from({ length: 30_000 }, (_, i) => device(i));
    outputs.next({ emissions: [emissionOf(devices)], listed: devices, report: [] });
    await new Promise((r) => setTimeout(r, 400));
    expect(delivered).toStrictEqual([]);
    agent.resume();
    await eventually(() => agent.received.length === 1, "the list to arrive");
    await eventually(() => delivered.length === 1, "its delivery time");
    expect(agent.received[0]!.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(agent.received[0]!.devices).toBe(30_000);
    // The stall is part of the time reported (how long it took is not this test's business).
    expect(delivered[0]).toBeGreaterThanOrEqual(400);
  });

  it("counts from the step that made the list, not from when it was encoded", async () => {
    const { outputs, delivered, agent } = await serve();
    const devices = Array.from({ length: 10 }, (_, i) => device(i));
    // A list whose step ran 5 s ago, as if sorting, comparing and encoding it had taken that long.
    outputs.next({
      emissions: [{ ...emissionOf(devices), at: Date.now() - 5000 }],
      listed: devices,
      report: [],
    });
    await eventually(() => agent.received.length === 1, "the list to arrive");
    await eventually(() => delivered.length === 1, "its delivery time");
    expect(delivered[0]).toBeGreaterThanOrEqual(5000);
  });
});
