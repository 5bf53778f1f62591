import { describe, expect, it } from "vitest";
import { compileDeviceTemplate } from "../../../../src/discovery/generic/device-template.js";
import { payloadTimestamp } from "../../../../src/discovery/generic/presence.js";
import { topicMatches } from "../../../../src/mqtt/topic-filter.js";
import { EngineHarness } from "../../../support/engine-harness.js";

const seed = "serverUrls: [tcp://mosquitto.iot:1883]\ntopics: [robots/+/joints, system/#]\n";
const msg = (topic: string, payload = "{}", retain = false) => ({
  topic,
  payload: Buffer.from(payload),
  qos: 0 as const,
  retain,
});

describe("MQTT topic filters", () => {
  it.each([
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "$SYS/x", false],
    ["+/x", "$SYS/x", false],
    ["a/+", "a/b/c", false],
    ["a/b", "a/b", true],
  ])("%s matches %s: %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe("deviceId templates", () => {
  it("extracts the id and the device's topic filter", () => {
    const template = compileDeviceTemplate("robots/{robot}/joints");
    expect(template("robots/r1/joints")).toStrictEqual({ id: "r1", filter: "robots/r1/joints" });
    expect(template("robots/r1/wheels")).toBeUndefined();
    expect(compileDeviceTemplate("factory/{line}/+/{machine}/#")("factory/L1/x/M7/temp/now")).toStrictEqual({
      id: "L1/M7",
      filter: "factory/L1/+/M7/#",
    });
  });
});

describe("generic discovery", () => {
  it("with the seed configuration, each distinct topic is a device with the generic properties", () => {
    const h = new EngineHarness(seed);
    h.deliver(msg("robots/r1/joints"));
    h.deliver(msg("system/cpu/load"));
    h.deliver(msg("other/topic"));
    h.settle();
    expect(h.lists.at(-1)?.devices).toStrictEqual([
      {
        id: "robots/r1/joints",
        kind: "topic",
        properties: {
          MQTT_BROKER_URI: "tcp://mosquitto.iot:1883",
          MQTT_TOPIC: "robots/r1/joints",
          MQTT_DEVICE_ID: "robots/r1/joints",
        },
      },
      {
        id: "system/cpu/load",
        kind: "topic",
        properties: {
          MQTT_BROKER_URI: "tcp://mosquitto.iot:1883",
          MQTT_TOPIC: "system/cpu/load",
          MQTT_DEVICE_ID: "system/cpu/load",
        },
      },
    ]);
  });

  it("gives each device's facts camelCase names: when it last published (ISO 8601) and on which broker", () => {
    const h = new EngineHarness(seed);
    h.deliver({ ...msg("robots/r1/joints"), broker: "tcp://mosquitto.iot:1883" });
    const lastMessageAt = new Date(h.now).toISOString();
    h.settle();
    expect(h.lists.at(-1)!.factsOf("robots/r1/joints")).toStrictEqual({
      lastMessageAt,
      broker: "tcp://mosquitto.iot:1883",
    });
  });

  it("names devices with a deviceId template", () => {
    const h = new EngineHarness(`${seed}deviceId: "robots/{robot}/joints"`);
    h.deliver(msg("robots/r1/joints"));
    h.deliver(msg("robots/r2/joints"));
    h.deliver(msg("system/cpu"));
    h.settle();
    expect(h.lists.at(-1)?.devices.map((d) => [d.id, d.properties.MQTT_TOPIC])).toStrictEqual([
      ["r1", "robots/r1/joints"],
      ["r2", "robots/r2/joints"],
    ]);
  });

  it("drops a device after idleTimeoutSeconds of silence (plus offlineGraceSeconds)", () => {
    const h = new EngineHarness(`${seed}idleTimeoutSeconds: 60\nofflineGraceSeconds: 10`);
    h.deliver(msg("robots/r1/joints"));
    h.deliver(msg("robots/r2/joints"));
    h.advance(50_000);
    h.deliver(msg("robots/r2/joints"));
    h.advance(15_000);
    expect(h.ids()).toStrictEqual(["robots/r1/joints", "robots/r2/joints"]);
    h.advance(6_000);
    expect(h.ids()).toStrictEqual(["robots/r2/joints"]);
  });

  it("times each device by its own silence, however busy the others are", () => {
    const h = new EngineHarness(`${seed}idleTimeoutSeconds: 60\nofflineGraceSeconds: 10`);
    h.deliver(msg("robots/r1/joints"));
    h.advance(20_000);
    const talk = (ms: number) => {
      h.advance(ms);
      h.deliver(msg("robots/r2/joints"));
    };
    for (let i = 0; i < 4; i++) talk(10_000); // r2 busy; r1 silent for ~60 s: offline, in grace
    expect(h.ids()).toStrictEqual(["robots/r1/joints", "robots/r2/joints"]);
    expect(h.engine.discoverer.list()[0]?.id).toBe("robots/r1/joints");
    expect(h.engine.discoverer.statusOf("robots/r1/joints")).toBe("offline");
    talk(5_000);
    expect(h.ids()).toContain("robots/r1/joints");
    talk(6_000); // ~71 s of silence: gone
    expect(h.ids()).toStrictEqual(["robots/r2/joints"]);
    // Back while in grace, a device is timed from its last message again.
    h.deliver(msg("robots/r3/joints"));
    h.advance(65_000);
    expect(h.engine.discoverer.statusOf("robots/r3/joints")).toBe("offline");
    h.deliver(msg("robots/r3/joints"));
    h.advance(69_000);
    expect(h.ids()).toContain("robots/r3/joints");
    h.advance(2_000);
    expect(h.ids()).not.toContain("robots/r3/joints");
  });

  it("a device back during a grace longer than its idle timeout goes offline again on time", () => {
    const h = new EngineHarness(`${seed}idleTimeoutSeconds: 10\nofflineGraceSeconds: 60`);
    const status = () => h.engine.discoverer.statusOf(h.engine.discoverer.list()[0]!.id);
    h.deliver(msg("robots/r1/joints"));
    h.advance(15_000);
    expect(status()).toBe("offline");
    h.deliver(msg("robots/r1/joints"));
    expect(status()).toBe("online");
    h.advance(9_000);
    expect(status()).toBe("online");
    h.advance(2_000);
    expect(status()).toBe("offline");
    h.advance(60_000);
    expect(h.ids()).toStrictEqual([]);
  });

  it("does not let a retained message older than the idle timeout bring a device back", () => {
    const h = new EngineHarness(`${seed}idleTimeoutSeconds: 60`);
    h.deliver(msg("robots/r1/joints", "{}", true));
    h.deliver(msg("robots/r2/joints", JSON.stringify({ timestamp: h.now - 3_600_000 }), true));
    h.settle();
    expect(h.ids()).toStrictEqual([]);
    h.deliver(msg("robots/r3/joints", JSON.stringify({ ts: new Date(h.now - 5_000).toISOString() }), true));
    h.settle();
    expect(h.ids()).toStrictEqual(["robots/r3/joints"]);
  });

  it("pauses the idle clock while the broker is unreachable", () => {
    const h = new EngineHarness(`${seed}idleTimeoutSeconds: 60`);
    h.deliver(msg("robots/r1/joints"));
    h.advance(30_000);
    h.input({ kind: "offline", broker: "b" });
    h.advance(600_000);
    h.input({ kind: "online", broker: "b", willTimestamp: h.now });
    expect(h.ids()).toStrictEqual(["robots/r1/joints"]);
    h.advance(29_000);
    expect(h.ids()).toStrictEqual(["robots/r1/joints"]);
    h.advance(2_000);
    expect(h.ids()).toStrictEqual([]);
  });

  it("reads payload timestamps in ms, s and ISO form", () => {
    expect(payloadTimestamp(Buffer.from('{"timestamp":1767607200000}'))).toBe(1767607200000);
    expect(payloadTimestamp(Buffer.from('{"ts":1767607200}'))).toBe(1767607200000);
    expect(payloadTimestamp(Buffer.from('{"time":"2026-01-05T10:00:00Z"}'))).toBe(1767607200000);
    expect(payloadTimestamp(Buffer.from("21.5"))).toBeUndefined();
  });
});
