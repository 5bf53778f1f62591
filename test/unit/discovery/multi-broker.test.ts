import { describe, expect, it } from "vitest";
import { parseDiscoveryDetails } from "../../../src/discovery/modes/modes.js";
import { parseBrokerCredentials } from "../../../src/mqtt/credentials.js";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder, type EdgePublish } from "../../../src/sparkplug/edge-node-encoder.js";
import { EngineHarness } from "../../support/engine-harness.js";

/* discoveryDetails.brokers: several independent brokers, and what a device's properties say of them. */

const A = "tcp://a:1883";
const B = "tcp://b1:1883,tcp://b2:1883";
const twoBrokers = `brokers:\n  - serverUrls: [tcp://a:1883]\n  - {name: site_b, serverUrls: [tcp://b1:1883, tcp://b2:1883]}\n`;

describe("discoveryDetails with several brokers", () => {
  it("takes brokers, each with its failover URLs, named by position unless named", () => {
    const parsed = parseDiscoveryDetails(twoBrokers);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.details.brokers).toStrictEqual([
      { name: "1", serverUrls: ["tcp://a:1883"], uri: A },
      { name: "SITE_B", serverUrls: ["tcp://b1:1883", "tcp://b2:1883"], uri: B },
    ]);
    expect(parsed.warnings).toStrictEqual([]);
  });

  it.each([
    [
      "serverUrls: [tcp://a]\nbrokers: [{serverUrls: [tcp://b]}]",
      "brokers: give serverUrls (the URLs of one broker) or brokers (several brokers), not both",
    ],
    ["brokers: []", "brokers: expected at least 1 item(s)"],
    [
      "brokers: [{serverUrls: [tcp://a]}, {serverUrls: [tcp://b, tcp://a]}]",
      "brokers[1].serverUrls: a URL of brokers[0] again",
    ],
    [
      "brokers: [{name: x, serverUrls: [tcp://a]}, {name: X, serverUrls: [tcp://b]}]",
      "brokers[1].name: X is also the name of brokers[0]",
    ],
    ["brokers: [{name: a-b, serverUrls: [tcp://a]}]", "brokers[0].name: expected letters, digits and _"],
    ["brokers: [{serverUrls: [http://a]}]", "brokers[0].serverUrls[0]: scheme must be one of"],
  ])("refuses %j: %s", (yaml, message) => {
    const parsed = parseDiscoveryDetails(yaml);
    expect(parsed.ok ? "accepted" : parsed.error).toContain(message);
  });

  it("warns about an unknown key inside a broker, naming where it is", () => {
    const parsed = parseDiscoveryDetails("brokers: [{serverUrls: [tcp://a], serverUrl: tcp://b}]");
    expect(parsed.ok && parsed.warnings).toStrictEqual(["unknown key brokers[0].serverUrl is ignored"]);
  });

  it("gives each broker its own secrets where they are suffixed with its name, the shared ones elsewhere", () => {
    const result = parseBrokerCredentials(
      {
        MQTT_USERNAME: "akri",
        MQTT_PASSWORD: "shared",
        MQTT_PASSWORD_SITE_B: "b-only",
        MQTT_PASSWORD_NOWHERE: "x",
      },
      ["1", "SITE_B"],
    );
    if (!result.ok) throw new Error(result.error);
    expect(result.byBroker.get("1")).toStrictEqual({ username: "akri", password: "shared" });
    expect(result.byBroker.get("SITE_B")).toStrictEqual({ username: "akri", password: "b-only" });
    expect(result.warnings).toStrictEqual([
      "unknown discoveryProperties entry MQTT_PASSWORD_NOWHERE is ignored",
    ]);
  });

  it("names the broker whose certificate comes without its key", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----";
    const result = parseBrokerCredentials({ MQTT_CLIENT_CERT_SITE_B: pem }, ["1", "SITE_B"]);
    expect(result.ok ? "accepted" : result.error).toBe(
      "MQTT_CLIENT_CERT_SITE_B: given without MQTT_CLIENT_KEY_SITE_B (mutual TLS needs both)",
    );
  });
});

const on = (broker: string, publish: EdgePublish) => ({ ...publish, broker });

describe("devices of several brokers", () => {
  it("gives every device the same broker properties, from the Configuration, wherever its node is; the node's broker now is brokerOf", () => {
    const h = new EngineHarness(`${twoBrokers}sparkplug: {discover: both}`);
    const first = new EdgeNodeEncoder("G", "Line", 1n);
    first.defineDevice("Motor", {
      metrics: [{ name: "Speed", alias: 1, datatype: DataType.Double, value: 0 }],
    });
    for (const p of first.births(h.now)) h.deliver(on(A, p));
    h.settle();
    const listsBefore = h.lists.length;
    const last = () => h.lists.at(-1)!;
    const where = () => last().devices.map((d) => [d.id, last().brokerOf(d.id)]);
    expect(where()).toStrictEqual([
      ["spBv1.0/G/Line", A],
      ["spBv1.0/G/Line/Motor", A],
    ]);
    const properties = last().devices.map((d) => d.properties);
    for (const p of properties) {
      expect(p.MQTT_BROKER_URI).toBe(A);
      expect(p.MQTT_BROKER_URIS).toBe(`${A} ${B}`);
      expect(p.MQTT_BROKER_NAMES).toBe("1 SITE_B");
    }
    const moved = new EdgeNodeEncoder("G", "Line", 2n);
    moved.defineDevice("Motor", {
      metrics: [{ name: "Speed", alias: 1, datatype: DataType.Double, value: 0 }],
    });
    for (const p of moved.births(h.now)) h.deliver(on(B, p));
    h.deliver(on(A, first.will(h.now)));
    h.settle();
    // Nothing Akri sees changed: no new list, the same properties; /devices follows the node.
    expect(h.lists.length).toBe(listsBefore);
    expect(last().devices.map((d) => d.properties)).toStrictEqual(properties);
    expect(where()).toStrictEqual([
      ["spBv1.0/G/Line", B],
      ["spBv1.0/G/Line/Motor", B],
    ]);
  });

  it("generic discovery: one device per topic, on the broker it last published on, with the Configuration's broker properties; each broker's outage stops only its devices' idle clocks", () => {
    const h = new EngineHarness(`${twoBrokers}topics: [robots/+]\nidleTimeoutSeconds: 10`);
    h.input({ kind: "online", broker: A, willTimestamp: h.now });
    h.input({ kind: "online", broker: B, willTimestamp: h.now });
    const msg = (topic: string, broker: string) => ({
      topic,
      payload: Buffer.from("{}"),
      qos: 0 as const,
      retain: false,
      broker,
    });
    h.deliver(msg("robots/r1", A));
    h.deliver(msg("robots/r2", B));
    h.advance(1500);
    const properties = h.lists.at(-1)!.devices.map((d) => d.properties);
    const listsBefore = h.lists.length;
    h.deliver(msg("robots/r1", B));
    h.advance(1500);
    expect(h.lists.length).toBe(listsBefore);
    const last = h.lists.at(-1)!;
    expect(last.devices.map((d) => [d.id, last.brokerOf(d.id)])).toStrictEqual([
      ["robots/r1", B],
      ["robots/r2", B],
    ]);
    expect(properties).toStrictEqual([
      {
        MQTT_BROKER_URI: A,
        MQTT_BROKER_URIS: `${A} ${B}`,
        MQTT_BROKER_NAMES: "1 SITE_B",
        MQTT_TOPIC: "robots/r1",
        MQTT_DEVICE_ID: "robots/r1",
      },
      {
        MQTT_BROKER_URI: A,
        MQTT_BROKER_URIS: `${A} ${B}`,
        MQTT_BROKER_NAMES: "1 SITE_B",
        MQTT_TOPIC: "robots/r2",
        MQTT_DEVICE_ID: "robots/r2",
      },
    ]);
    h.deliver(msg("robots/r3", A));
    h.input({ kind: "offline", broker: B });
    h.advance(30_000);
    // B is down: its devices wait; r3 on A went idle and left.
    expect(h.lists.at(-1)!.devices.map((d) => d.id)).toStrictEqual(["robots/r1", "robots/r2"]);
  });
});
