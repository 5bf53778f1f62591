import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { packageFile } from "../../src/paths.js";
import { InstanceStore } from "../support/cluster/instance-store.js";
import { instanceStoreAvailable } from "../support/cluster/instance-store-binary.js";
import { StandInAgent } from "../support/cluster/stand-in-agent.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

/*
 * The stand-in agent behaves as Akri 0.13.26's agent where the multi-node tests depend on
 * it: error_policy's doubling backoff (discovery_configuration_controller.rs) and a new
 * Discover stream on every registration (discovery_handler_registry.rs, register_endpoint
 * and watch_devices), shown against a real `akri-mqtt serve`.
 */

const definition = loadSync(packageFile("test/support/akri-v0.proto", import.meta.url), { keepCase: true });
const Registration = ((loadPackageDefinition(definition) as GrpcObject).v0 as GrpcObject)
  .Registration as ServiceClientConstructor;

/** RegisterDiscoveryHandler, as a handler calls it. */
async function register(socket: string, request: object): Promise<void> {
  const client = new Registration(`unix://${socket}`, credentials.createInsecure()) as unknown as {
    RegisterDiscoveryHandler(request: object, done: (err: Error | null) => void): void;
    close(): void;
  };
  await new Promise<void>((resolve, reject) =>
    client.RegisterDiscoveryHandler(request, (err) => (err ? reject(err) : resolve())),
  );
  client.close();
}

describe.skipIf(!(mosquittoAvailable() && instanceStoreAvailable()))("the stand-in Akri agent", () => {
  let broker: Mosquitto;
  let store: InstanceStore;
  let directory: string;
  let agent: StandInAgent;
  let handler: HandlerProcess | undefined;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    store = await InstanceStore.start();
  }, 180_000);

  afterEach(async () => {
    await handler?.stop();
    handler = undefined;
    await agent?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  afterAll(async () => {
    await store?.stop();
    await broker?.stop();
  });

  async function startAgent(): Promise<void> {
    directory = await mkdtemp(join(tmpdir(), "akri-stand-in-"));
    agent = await StandInAgent.start({ node: "node-a", directory, store });
  }

  const configuration = (name: string) => ({
    name,
    namespace: "default",
    uid: `uid-${name}`,
    discoveryHandlerName: "mqtt",
    discoveryDetails: `serverUrls: [${broker.url}]\n`,
    brokerProperties: {},
    capacity: 1,
  });

  it("retries a failed reconcile after 1 s, then 2 s (500 ms doubled each time), and a success resets the backoff", async () => {
    await startAgent();
    agent.applyConfiguration(configuration("backoff"));
    await eventually(() => agent.outcomes.length >= 2, "two failed reconciles", 10_000);
    expect(agent.outcomes.map((o) => [o.ok, o.retryInMs, o.error])).toStrictEqual([
      [false, 1000, "Error: NoHandler: mqtt"],
      [false, 2000, "Error: NoHandler: mqtt"],
    ]);
    // A registration makes no reconcile of its own: the next is the backoff's.
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "" });
    await eventually(() => agent.outcomes.some((o) => o.ok), "a reconcile that succeeds", 10_000);
    expect(agent.outcomes.find((o) => o.ok)?.retryInMs).toBe(600_000);
    expect(agent.streamIds("backoff")).toHaveLength(1);
  });

  it("opens one more Discover stream on a live request at every registration, even an identical one; a device both list is discovered once", async () => {
    await startAgent();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "" });
    await eventually(() => agent.registrations.length === 1, "the handler registered");
    const device = await mqtt.connectAsync(broker.url, { clientId: "stand-in-device" });
    const publishing = setInterval(() => device.publish("line/press-1", "1"), 200);
    try {
      agent.applyConfiguration({
        ...configuration("streams"),
        discoveryDetails: `serverUrls: [${broker.url}]\ntopics: [line/+]\n`,
      });
      await eventually(() => agent.discovered("streams")?.length === 1, "the device discovered");
      expect(agent.streamIds("streams")).toStrictEqual([["line/press-1"]]);
      await register(agent.socketPath, agent.registrations[0]!);
      await eventually(
        () =>
          JSON.stringify(agent.streamIds("streams")) === JSON.stringify([["line/press-1"], ["line/press-1"]]),
        "a second stream on the same endpoint, listing the device too",
      );
      expect(agent.discovered("streams")?.map((d) => d.id)).toStrictEqual(["line/press-1"]);
    } finally {
      clearInterval(publishing);
      await device.endAsync();
    }
  });
});
