import { describe, expect, it } from "vitest";
import { parseDiscoveryDetails } from "../../../src/discovery/modes/modes.js";
import { parseBrokerCredentials } from "../../../src/mqtt/credentials.js";

function ok(text: string) {
  const result = parseDiscoveryDetails(text);
  if (!result.ok) throw new Error(result.error);
  return result;
}

function error(text: string): string {
  const result = parseDiscoveryDetails(text);
  if (result.ok) throw new Error("expected an error");
  return result.error;
}

describe("discoveryDetails", () => {
  it("takes the seed example (serverUrls and topics only) as generic discovery with every default", () => {
    const { details, warnings } = ok(
      "serverUrls: [tcp://mosquitto.iot:1883]\ntopics: [robots/+/joints, system/#]\n",
    );
    expect(warnings).toStrictEqual([]);
    expect(details).toMatchObject({
      brokers: [
        { name: undefined, serverUrls: ["tcp://mosquitto.iot:1883"], uri: "tcp://mosquitto.iot:1883" },
      ],
      mode: "generic",
      topics: ["robots/+/joints", "system/#"],
      clientId: "akri-mqtt",
      mqttVersion: 5,
      offlineGraceSeconds: 0,
      idleTimeoutSeconds: 300,
    });
  });

  it("defaults to Sparkplug without topics, with the documented defaults", () => {
    const { details } = ok("serverUrls: [mqtts://broker:8883]");
    if (details.mode !== "sparkplug") throw new Error(`mode ${details.mode}`);
    expect(details.sparkplug).toMatchObject({
      discover: "devices",
      hostId: "akri-mqtt",
      publishState: true,
      useCertificates: true,
      birthMetrics: [],
      properties: {},
      rebirth: {
        onUnknownNode: true,
        onSeqGap: true,
        reorderTimeoutMs: 2000,
        minIntervalPerNodeMs: 30000,
        maxPerSecond: 10,
      },
    });
  });

  it("accepts JSON, and a single server URL as a string", () => {
    expect(ok('{"serverUrls": "ws://broker:9001/mqtt"}').details.brokers[0]!.serverUrls).toStrictEqual([
      "ws://broker:9001/mqtt",
    ]);
  });

  it("parses FilterLists, selectors and property mappings", () => {
    const { details } = ok(`
serverUrls: [tcp://b:1883]
sparkplug:
  groupIds: {action: Include, items: [plant1]}
  edgeNodeIds: {action: Exclude, items: [test-node]}
  deviceIds: {items: [motor]}
  birthMetrics:
    - {name: Properties/Hardware Make, equals: Acme}
  properties:
    HARDWARE_MODEL: Properties/Hardware Model
`);
    if (details.mode !== "sparkplug") throw new Error(`mode ${details.mode}`);
    expect(details.sparkplug.groupIds).toStrictEqual({ action: "Include", items: ["plant1"] });
    expect(details.sparkplug.deviceIds).toStrictEqual({ action: "Include", items: ["motor"] });
    expect(details.sparkplug.birthMetrics).toStrictEqual([
      { name: "Properties/Hardware Make", equals: "Acme" },
    ]);
    expect(details.sparkplug.properties).toStrictEqual({ HARDWARE_MODEL: "Properties/Hardware Model" });
  });

  it("keeps a Configuration's inventory on the handler pod's loopback unless inventoryAccess opens it", () => {
    expect(ok("serverUrls: [tcp://b]").details.inventoryAccess).toBe("loopback");
    expect(ok("serverUrls: [tcp://b]\ninventoryAccess: cluster").details.inventoryAccess).toBe("cluster");
    expect(ok("serverUrls: [tcp://b]\ninventoryAccess: cluster").warnings).toStrictEqual([]);
  });

  it("takes a shard of the plant: sparkplug.shard {count, index}, none by default", () => {
    const sharded = ok("serverUrls: [tcp://b]\nsparkplug: {shard: {count: 8, index: 3}}");
    if (sharded.details.mode !== "sparkplug") throw new Error(`mode ${sharded.details.mode}`);
    expect(sharded.details.sparkplug.shard).toStrictEqual({ count: 8, index: 3 });
    expect(sharded.warnings).toStrictEqual([]);
    const whole = ok("serverUrls: [tcp://b]").details;
    if (whole.mode !== "sparkplug") throw new Error(`mode ${whole.mode}`);
    expect(whole.sparkplug.shard).toBeUndefined();
    expect(
      ok("serverUrls: [tcp://b]\nsparkplug: {shard: {count: 2, index: 1, of: 3}}").warnings,
    ).toStrictEqual(["unknown key sparkplug.shard.of is ignored"]);
  });

  it("warns about unknown keys, naming them", () => {
    const { warnings } = ok(
      "serverUrls: [tcp://b]\ntimeoutSeconds: 5\nsparkplug: {hostid: x, rebirth: {max: 1}}",
    );
    expect(warnings).toStrictEqual([
      "unknown key sparkplug.hostid is ignored",
      "unknown key sparkplug.rebirth.max is ignored",
      // The reference handler's key (generic's is idleTimeoutSeconds): not read in this mode.
      "timeoutSeconds is ignored in sparkplug mode",
    ]);
  });

  it.each([
    [
      "mode: bogus\nserverUrls: [tcp://a]",
      'mode: expected one of "sparkplug", "reference", "generic", got "bogus"',
    ],
    ["topics: [a]", "serverUrls: required (expected a list)"],
    ["serverUrls: []", "serverUrls: expected at least 1 item(s)"],
    ["serverUrls: [http://a]", "serverUrls[0]: scheme must be one of tcp, mqtt, ssl, mqtts, ws, wss"],
    ["serverUrls: [tcp://user:secret@a]", "serverUrls[0]: credentials must not be in the URL"],
    [
      "serverUrls: [tcp://a]\nsparkplug: {groupIds: {action: Include}}",
      "sparkplug.groupIds.items: required (expected a list)",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {groupIds: {action: include, items: []}}",
      'sparkplug.groupIds.action: expected one of "Include", "Exclude"',
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {rebirth: {maxPerSecond: ten}}",
      'sparkplug.rebirth.maxPerSecond: expected a number, got "ten"',
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {discover: all}",
      'sparkplug.discover: expected one of "devices", "nodes", "both", got "all"',
    ],
    ["serverUrls: [tcp://a]\nmqttVersion: 4", "mqttVersion: expected 3 or 5, got 4"],
    [
      "serverUrls: [tcp://a]\noffsetGraceSeconds: 1\nofflineGraceSeconds: -1",
      "offlineGraceSeconds: expected a number >= 0, got -1",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {properties: {model: M}}",
      "sparkplug.properties.model: property names become environment variables",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {properties: {SPARKPLUG_GROUP_ID: M}}",
      "SPARKPLUG_GROUP_ID is a standard property",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {hostId: a/b}",
      'sparkplug.hostId: expected a non-empty id without "/", "+" or "#"',
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {shard: {count: 8, index: 8}}",
      "sparkplug.shard.index: expected a whole number below count (8), got 8",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {shard: {count: 0, index: 0}}",
      "sparkplug.shard.count: expected a number >= 1, got 0",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {shard: {count: 8, index: -1}}",
      "sparkplug.shard.index: expected a number >= 0, got -1",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {shard: {count: 2.5, index: 0}}",
      "sparkplug.shard.count: expected a whole number, got 2.5",
    ],
    [
      "serverUrls: [tcp://a]\nsparkplug: {shard: {count: 8}}",
      "sparkplug.shard.index: required (expected a number)",
    ],
    ["serverUrls: [tcp://a]\nsparkplug: {shard: 3}", "sparkplug.shard: expected a map, got 3"],
    ["serverUrls: [tcp://a]\nmode: generic", "topics: required in generic mode"],
    ["serverUrls: [tcp://a]\ntopics: [a/#/b]", 'topics[0]: "#" must be a whole level and the last one'],
    ["serverUrls: [tcp://a]\ntopics: [a/+]\ndeviceId: 'a/{x'", 'deviceId: level "{x" must be a literal'],
    [
      "serverUrls: [tcp://a]\ninventoryAccess: everyone",
      'inventoryAccess: expected one of "loopback", "cluster", got "everyone"',
    ],
    ["serverUrls: [tcp://a\n", "discoveryDetails is not valid YAML"],
    ["- serverUrls", "discoveryDetails: expected a map of settings, got a list"],
  ])("rejects %j: %s", (text, message) => {
    expect(error(text)).toContain(message);
  });
});

describe("credentials from discoveryProperties", () => {
  const pem = (kind: string) => `-----BEGIN ${kind}-----\nMIIB\n-----END ${kind}-----\n`;

  it("reads username, password and PEM material, by name in any case", () => {
    const result = parseBrokerCredentials({
      MQTT_USERNAME: Buffer.from("akri"),
      mqtt_password: Buffer.from("s3cret"),
      MQTT_CA_CERT: Buffer.from(pem("CERTIFICATE")),
      MQTT_CLIENT_CERT: pem("CERTIFICATE"),
      MQTT_CLIENT_KEY: pem("PRIVATE KEY"),
    });
    expect(result).toMatchObject({ ok: true, credentials: { username: "akri", password: "s3cret" } });
  });

  it("rejects a certificate that is not PEM, naming the property but not its value", () => {
    const result = parseBrokerCredentials({ MQTT_CA_CERT: Buffer.from("not-a-cert-s3cret") });
    expect(result).toStrictEqual({
      ok: false,
      error: "MQTT_CA_CERT: expected a PEM block (-----BEGIN ...-----)",
    });
  });

  it("needs both halves of mutual TLS", () => {
    expect(parseBrokerCredentials({ MQTT_CLIENT_CERT: pem("CERTIFICATE") })).toMatchObject({
      ok: false,
      error: "MQTT_CLIENT_CERT: given without MQTT_CLIENT_KEY (mutual TLS needs both)",
    });
  });

  it("treats an absent value (ByteData without vec) as unset and warns about unknown names", () => {
    const result = parseBrokerCredentials({ MQTT_USERNAME: undefined, OTHER: Buffer.from("x") });
    expect(result).toStrictEqual({
      ok: true,
      credentials: {},
      byBroker: new Map(),
      own: new Map(),
      warnings: ["unknown discoveryProperties entry OTHER is ignored"],
    });
  });
});
