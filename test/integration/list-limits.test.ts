import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import blake from "blakejs";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_MAX_DECODING_BYTES, type DiscoverCall, TestAgent } from "../support/akri-agent.js";
import { DiscoveryHandlerClient } from "../support/akri-v0.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

/*
 * What Akri sees when a list does not fit, or two ids share an instance hash: a real
 * `akri-mqtt serve`, a real Mosquitto, and the agent's Discover client holding the agent's
 * own receive limit (AGENT_MAX_DECODING_BYTES, tonic's default: see akri-agent.ts).
 */

interface UnlistedJson {
  id: string;
  reason: { code: string; message: string };
}
interface StreamJson {
  stream: number;
  devices: { id: string; instanceName: string }[];
  unlisted: UnlistedJson[];
}

/** DiscoverResponse bytes as the agent's side of the proto encodes them (not the handler's encoder). */
const encodeResponse = DiscoveryHandlerClient.service.Discover!.responseSerialize as (
  value: object,
) => Buffer;

/** Akri's instance hash: BLAKE2b with a 3-byte digest of the id (discovery_handler_registry.rs, device_hash). */
const akriHash = (id: string) => blake.blake2bHex(Buffer.from(id, "utf8"), undefined, 3);

describe.skipIf(!mosquittoAvailable())("lists Akri cannot take whole", () => {
  let broker: Mosquitto;
  let handler: HandlerProcess;
  let agent: TestAgent;
  let publisher: MqttClient;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    const directory = await mkdtemp(join(tmpdir(), "akri-limits-"));
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    agent = new TestAgent(directory);
    await agent.start();
    await agent.waitForRegistrations(1);
    publisher = await mqtt.connectAsync(broker.url, { clientId: "limits-publisher" });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await handler?.stop();
    await agent?.stop();
    await broker?.stop();
  });

  /** Opens a Discover stream and waits for its first list (its subscriptions are in place). */
  async function discover(details: string): Promise<DiscoverCall> {
    const call = agent.discover(agent.registrations[0]!, details);
    await eventually(() => call.lists.length >= 1 || call.error !== undefined, "the first list");
    expect(call.error).toBeUndefined();
    return call;
  }

  async function inventory(configuration: string): Promise<StreamJson> {
    const streams = JSON.parse((await handler.get("/devices?all=true")).body) as (StreamJson & {
      devices: { instanceName: string }[];
    })[];
    const stream = streams.find((s) => s.devices.some((d) => d.instanceName.startsWith(`${configuration}-`)));
    if (!stream) throw new Error(`no stream of ${configuration} in /devices`);
    return stream;
  }

  it("sends the largest list the agent's 4 MiB takes, and names what it cut", async () => {
    // 72 devices of ~60 KB each (a 20,000-byte topic is their id, MQTT_TOPIC and
    // MQTT_DEVICE_ID): a plant over 4 MiB in a few messages, where a real one takes ~15,000.
    const padding = "x".repeat(20_000);
    const ids = Array.from({ length: 72 }, (_, i) => `big/dev-${String(i).padStart(2, "0")}-${padding}`);
    const call = await discover(`serverUrls: [${broker.url}]
topics: [big/+]
configurationName: big-plant
`);
    const overflowsBefore = (await handler.metric("akri_mqtt_list_overflows_total")) ?? 0;
    for (const id of ids) await publisher.publishAsync(id, "{}", { qos: 1 });

    // The largest prefix (ids in order) whose DiscoverResponse the agent accepts.
    const devices = ids.map((id) => ({
      id,
      properties: { MQTT_BROKER_URI: broker.url, MQTT_TOPIC: id, MQTT_DEVICE_ID: id },
    }));
    let fits = 0;
    while (
      fits < devices.length &&
      encodeResponse({ devices: devices.slice(0, fits + 1) }).length <= AGENT_MAX_DECODING_BYTES
    )
      fits++;
    expect(fits).toBeGreaterThan(60);
    expect(fits).toBeLessThan(devices.length);
    const kept = ids.slice(0, fits);
    const cut = ids.slice(fits);

    await eventually(
      () => {
        // An agent that cannot read a list gets an error, not a shorter list: fail at once.
        if (call.error) throw new Error(`the agent's Discover stream failed: ${call.error.message}`);
        return JSON.stringify(call.ids()) === JSON.stringify(kept);
      },
      `the first ${fits} devices`,
      15_000,
    );
    expect(call.lists.at(-1)).toStrictEqual(devices.slice(0, fits));

    // Named in the log, and in /devices with their reason; counted.
    const line = handler.output
      .split("\n")
      .find(
        (l) => l.includes("exceeds the agent's 4 MiB message limit") && l.includes(`"cut":${cut.length}`),
      );
    expect(line, handler.output.slice(-2000)).toBeDefined();
    expect((JSON.parse(line!) as { cutIds: string[] }).cutIds).toStrictEqual(cut);
    const stream = await inventory("big-plant");
    expect(stream.devices.map((d) => d.id)).toStrictEqual(kept);
    expect(stream.unlisted.filter((u) => u.reason.code === "over-size-limit").map((u) => u.id)).toStrictEqual(
      cut,
    );
    expect(await handler.metric("akri_mqtt_list_overflows_total")).toBeGreaterThan(overflowsBefore);
    call.cancel();
  });

  it("lists both ids that share an Akri instance hash, and says Akri keeps one", async () => {
    // Found by search over "clash-<n>" (the 24-bit hash collides within a few thousand ids).
    const [a, b] = ["clash-3687", "clash-4046"];
    expect(akriHash(a)).toBe(akriHash(b));
    expect(akriHash("foo0")).toBe("8120fe"); // Akri's docs: Instance akri-debug-echo-foo-8120fe
    const call = await discover(`serverUrls: [${broker.url}]
topics: [clash/+]
deviceId: "clash/{name}"
configurationName: clashing
`);
    const collisionsBefore = (await handler.metric("akri_mqtt_instance_hash_collisions_total")) ?? 0;
    await publisher.publishAsync(`clash/${a}`, "{}", { qos: 1 });
    await publisher.publishAsync(`clash/${b}`, "{}", { qos: 1 });
    await call.waitForIds([a, b], "both listed (the agent decides which it keeps)");

    const instance = `clashing-${akriHash(a)}`;
    let stream: StreamJson | undefined;
    await eventually(async () => {
      stream = await inventory("clashing");
      return stream.unlisted.some((u) => u.reason.code === "instance-hash-collision");
    }, "the collision in /devices?all=true");
    expect(stream!.devices.map((d) => d.instanceName)).toStrictEqual([instance, instance]);
    expect(stream!.unlisted.filter((u) => u.reason.code === "instance-hash-collision")).toMatchObject([
      { id: b, reason: { message: expect.stringContaining(a) } },
    ]);
    expect(handler.output).toMatch(
      new RegExp(`"ids":\\["${a}","${b}"\\].*two device ids share an Akri instance hash`),
    );
    expect(await handler.metric("akri_mqtt_instance_hash_collisions_total")).toBeGreaterThan(
      collisionsBefore,
    );
    call.cancel();
  });
});
