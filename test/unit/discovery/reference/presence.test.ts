import { describe, expect, it } from "vitest";
import { EngineHarness } from "../../../support/engine-harness.js";

/* What the reference handler's Configurations list, on virtual time. */

const details = (extra = "") =>
  `mqttBrokerUri: "tcp://u:hunter2@broker:1883"\ntopics: [hello, "sensors/#"]\ntimeoutSeconds: 60\n${extra}`;
const msg = (topic: string, payload = "x", retain = false) => ({
  topic,
  payload: Buffer.from(payload),
  qos: 0 as const,
  retain,
});

describe("the reference handler's Configurations", () => {
  it("list each concrete topic with that handler's two properties, retained messages included", () => {
    const h = new EngineHarness(details());
    h.deliver(msg("sensors/a/temp", "old news", true));
    h.deliver(msg("hello"));
    h.deliver(msg("elsewhere"));
    h.settle();
    expect(h.lists.at(-1)?.devices).toStrictEqual([
      {
        id: "hello",
        kind: "topic",
        properties: { MQTT_TOPIC: "hello", MQTT_BROKER_URI: "tcp://broker:1883" },
      },
      {
        id: "sensors/a/temp",
        kind: "topic",
        properties: { MQTT_TOPIC: "sensors/a/temp", MQTT_BROKER_URI: "tcp://broker:1883" },
      },
    ]);
  });

  it("drop a device timeoutSeconds after its last message, not its first", () => {
    const h = new EngineHarness(details());
    h.deliver(msg("hello"));
    h.deliver(msg("sensors/b"));
    h.settle();
    const start = h.now;
    h.advanceTo(start + 50_000);
    h.deliver(msg("hello"));
    h.advanceTo(start + 61_000);
    expect(h.ids()).toStrictEqual(["hello"]);
    h.advanceTo(start + 50_000 + 61_000);
    expect(h.ids()).toStrictEqual([]);
  });

  it("name properties with the prefix, upper-cased", () => {
    const h = new EngineHarness(details("propertiesPrefix: plant"));
    h.deliver(msg("hello"));
    h.settle();
    expect(h.lists.at(-1)?.devices[0]?.properties).toStrictEqual({
      PLANT_MQTT_TOPIC: "hello",
      PLANT_MQTT_BROKER_URI: "tcp://broker:1883",
    });
  });

  it("count only messages whose payload contains messageRegexp, and say why a topic is left out", () => {
    const h = new EngineHarness(details('messageRegexp: "temp=\\\\d+"'));
    h.deliver(msg("hello", "status ok"));
    h.deliver(msg("sensors/c", "reading temp=21 C"));
    h.deliver(msg("sensors/d", Buffer.from([0xff, 0xfe]).toString("latin1")));
    h.settle();
    expect(h.ids()).toStrictEqual(["sensors/c"]);
    expect(
      h.lists
        .at(-1)
        ?.unlisted()
        .map((u) => [u.id, u.reason.code]),
    ).toStrictEqual([
      ["hello", "payload-not-matched"],
      ["sensors/d", "payload-not-matched"],
    ]);
    expect(h.lists.at(-1)?.unlisted()[0]?.reason.message).toBe(
      'messageRegexp "temp=\\\\d+" does not occur in its payload',
    );
  });
});

describe("generic discovery's payloadRegexp", () => {
  it("lists only topics whose payloads contain it, and keeps a device listed only by those", () => {
    const h = new EngineHarness(
      'serverUrls: [tcp://b:1883]\ntopics: ["robots/#"]\nidleTimeoutSeconds: 10\npayloadRegexp: "\\"state\\":\\"run"\n',
    );
    h.deliver(msg("robots/r1", '{"state":"run"}'));
    h.deliver(msg("robots/r2", '{"state":"idle"}'));
    h.settle();
    expect(h.ids()).toStrictEqual(["robots/r1"]);
    // r1 goes on publishing, but nothing that counts: it leaves after the idle timeout.
    for (let i = 0; i < 4; i++) h.deliver(msg("robots/r1", '{"state":"idle"}'), 3000);
    expect(h.ids()).toStrictEqual([]);
  });
});
