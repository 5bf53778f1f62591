import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionPool } from "../../src/mqtt/connection-pool.js";
import { DiscoveryProbe } from "../support/discovery-probe.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

/* Generic discovery with the seed example configuration against a real Mosquitto. */

/** The first list is sent once the discovery is connected and subscribed. */
const subscribed = (probe: DiscoveryProbe) => eventually(() => probe.lists.length >= 1, "the first list");

describe.skipIf(!mosquittoAvailable())("generic discovery with Mosquitto", () => {
  let broker: Mosquitto;
  let publisher: MqttClient;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    publisher = mqtt.connect(broker.url, { clientId: "robot-publisher" });
    await new Promise<void>((resolve) => publisher.once("connect", () => resolve()));
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });

  const seed = (extra = "") => `serverUrls: [${broker.url}]\ntopics: [robots/+/joints, system/#]\n${extra}`;

  it("discovers a device on robots/r1/joints and drops it after idleTimeoutSeconds of silence", async () => {
    const probe = new DiscoveryProbe(seed("idleTimeoutSeconds: 2"), new ConnectionPool());
    try {
      await subscribed(probe);
      await publisher.publishAsync("robots/r1/joints", JSON.stringify({ j1: 0.5 }));
      await probe.waitForIds(["robots/r1/joints"], "robot discovered");
      expect(probe.latest()?.devices[0]?.properties).toStrictEqual({
        MQTT_BROKER_URI: broker.url,
        MQTT_TOPIC: "robots/r1/joints",
        MQTT_DEVICE_ID: "robots/r1/joints",
      });
      await probe.waitForIds([], "robot gone after 2 s of silence", 5000);
    } finally {
      await probe.stop();
    }
  });

  it("does not let a retained message older than the idle timeout bring a device back", async () => {
    await publisher.publishAsync("robots/r7/joints", JSON.stringify({ j1: 1 }), { retain: true, qos: 1 });
    await publisher.publishAsync(
      "robots/r8/joints",
      JSON.stringify({ j1: 1, timestamp: Date.now() - 3_600_000 }),
      {
        retain: true,
        qos: 1,
      },
    );
    // r7 has no timestamp to tell its age, r8's says an hour ago: neither is a live device.
    const probe = new DiscoveryProbe(seed("idleTimeoutSeconds: 2"), new ConnectionPool());
    try {
      await subscribed(probe);
      // The broker sends retained messages with the SUBACK, before anything published after:
      // once this live one is listed, r7 and r8 have been received, and were not listed.
      await publisher.publishAsync("robots/r9/joints", JSON.stringify({ j1: 3 }));
      await probe.waitForIds(["robots/r9/joints"], "a live message is listed; the retained ones are not");
      expect(
        probe.report
          .filter((e) => e.kind === "retained-ignored")
          .map((e) => e.subject)
          .sort(),
      ).toStrictEqual(["robots/r7/joints", "robots/r8/joints"]);
      await publisher.publishAsync("robots/r7/joints", JSON.stringify({ j1: 2 }));
      await probe.waitForIds(["robots/r7/joints", "robots/r9/joints"], "a live message on r7 lists it");
    } finally {
      await probe.stop();
      await publisher.publishAsync("robots/r7/joints", "", { retain: true, qos: 1 });
      await publisher.publishAsync("robots/r8/joints", "", { retain: true, qos: 1 });
    }
  });

  it("names devices with a deviceId template", async () => {
    const probe = new DiscoveryProbe(seed('deviceId: "robots/{robot}/joints"'), new ConnectionPool());
    try {
      await subscribed(probe);
      await publisher.publishAsync("robots/arm-1/joints", "{}");
      await publisher.publishAsync("robots/arm-2/joints", "{}");
      await probe.waitForIds(["arm-1", "arm-2"], "template ids");
      expect(probe.latest()?.devices[0]?.properties.MQTT_TOPIC).toBe("robots/arm-1/joints");
    } finally {
      await probe.stop();
    }
  });
});
