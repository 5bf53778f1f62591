import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDiscoveryDetails } from "../../../../src/discovery/modes/modes.js";
import { parseBrokerCredentials } from "../../../../src/mqtt/credentials.js";
import { ROOT } from "../../../support/cli.js";

/* The reference MQTT handler's discoveryDetails, as its serde types read them (src/discovery_handler.rs). */

const example = readFileSync(join(ROOT, "test/fixtures/details/reference-handler-example.yaml"), "utf8");

function ok(text: string) {
  const result = parseDiscoveryDetails(text);
  if (!result.ok) throw new Error(result.error);
  if (result.details.mode !== "reference") throw new Error(`mode ${result.details.mode}`);
  return { details: result.details, warnings: result.warnings };
}

function error(text: string): string {
  const result = parseDiscoveryDetails(text);
  if (result.ok) throw new Error("expected an error");
  return result.error;
}

const base = 'topics: ["hello"]\ntimeoutSeconds: 60\n';

describe("the reference handler's discoveryDetails", () => {
  it("reads its example Configuration as the reference mode, without a warning", () => {
    const { details, warnings } = ok(example);
    expect(warnings).toStrictEqual([]);
    expect(details).toMatchObject({
      mode: "reference",
      brokers: [{ serverUrls: ["tcp://192.168.1.14:1883"], uri: "tcp://192.168.1.14:1883" }],
      topics: ["hello", "goodbye", "wow"],
      timeoutSeconds: 60,
      messageRegexp: undefined,
      propertyPrefix: "",
      brokerUri: "tcp://192.168.1.14:1883",
    });
  });

  it.each([
    ["mqtt://broker", "mqtt://broker:1883"],
    ["tcp://broker", "tcp://broker:1883"],
    ["mqtts://broker", "mqtts://broker:8883"],
    ["ssl://broker", "ssl://broker:8883"],
    ["ssl://broker:9999", "ssl://broker:9999"],
  ])("takes %s as the broker at %s (rumqttc's default ports)", (uri, serverUrl) => {
    expect(ok(`mqttBrokerUri: ${uri}\n${base}`).details.brokers[0]!.serverUrls).toStrictEqual([serverUrl]);
  });

  it("uses credentials in the URL to connect but never shows them, and warns about them and URL options", () => {
    const { details, warnings } = ok(
      `mqttBrokerUri: "tcp://plant:hun%40ter2@broker:1883?client_id=x"\n${base}`,
    );
    expect(details.brokers[0]).toStrictEqual({
      name: undefined,
      serverUrls: ["tcp://broker:1883"],
      uri: "tcp://broker:1883",
      login: { username: "plant", password: "hun@ter2" },
    });
    expect(details.brokerUri).toBe("tcp://broker:1883?client_id=x");
    expect(warnings.join("\n")).not.toContain("ter2");
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain("client_id ignored");
  });

  it.each([
    [undefined, ""],
    ["akri", "AKRI_"],
    ["akri_", "AKRI_"],
    ["My-Plant", "MY-PLANT_"],
    ["café", "CAFé_"],
  ])("turns propertiesPrefix %s into %s as that handler does", (prefix, expected) => {
    const extra = prefix === undefined ? "" : `propertiesPrefix: ${prefix}\n`;
    expect(ok(`mqttBrokerUri: tcp://b\n${base}${extra}`).details.propertyPrefix).toBe(expected);
  });

  it("ignores unknown keys with a warning", () => {
    expect(ok(`mqttBrokerUri: tcp://b\n${base}qos: 2\n`).warnings).toStrictEqual([
      "unknown key qos is ignored",
    ]);
  });

  it.each([
    ["mqttBrokerUri: ws://b:8000", 'mqttBrokerUri: scheme must be one of mqtt, tcp, mqtts, ssl, got "ws"'],
    ["mqttBrokerUri: not a url", 'mqttBrokerUri: expected a URL like tcp://host:1883, got "not a url"'],
    ["mqttBrokerUri: 1883", "mqttBrokerUri: expected a string, got 1883"],
    ["mqttBrokerUri: tcp://b\ntopics: []\ntimeoutSeconds: 1", "topics: required"],
    ["mqttBrokerUri: tcp://b\ntopics: [a/#/b]\ntimeoutSeconds: 1", "topics[0]:"],
    ["mqttBrokerUri: tcp://b\ntopics: [a]", "timeoutSeconds: required"],
    [
      "mqttBrokerUri: tcp://b\ntopics: [a]\ntimeoutSeconds: -1",
      "timeoutSeconds: expected a number >= 0, got -1",
    ],
    ["mqttBrokerUri: tcp://b\ntopics: [a]\ntimeoutSeconds: 1.5", "timeoutSeconds: expected a whole number"],
    [`mqttBrokerUri: tcp://b\n${base}messageRegexp: "(a)\\\\1"`, "messageRegexp: not an RE2 pattern"],
    [`mqttBrokerUri: tcp://b\n${base}messageRegexp: "(?=a)b"`, "messageRegexp: not an RE2 pattern"],
    [`mqttBrokerUri: tcp://b\n${base}messageRegexp: "a(b"`, "messageRegexp: not an RE2 pattern"],
    [`mqttBrokerUri: tcp://b\n${base}propertiesPrefix: 3`, "propertiesPrefix: expected a string, got 3"],
    [`mqttBrokerUri: tcp://b\n${base}serverUrls: [tcp://c]`, "serverUrls: not read beside mqttBrokerUri"],
    ["mode: reference\ntopics: [a]\ntimeoutSeconds: 1", "mqttBrokerUri: required"],
  ])("refuses %j naming the key", (text, message) => {
    expect(error(text)).toContain(message);
  });

  it("does not echo a password in a refused URL", () => {
    expect(error(`mqttBrokerUri: "ws://u:hunter2@b"\n${base}`)).not.toContain("hunter2");
    expect(error(`mqttBrokerUri: "u:hunter2@b c"\n${base}`)).not.toContain("hunter2");
  });

  it("offers the same payload filter to generic discovery as payloadRegexp", () => {
    const result = parseDiscoveryDetails(
      'serverUrls: [tcp://b]\ntopics: [a]\npayloadRegexp: "temp=\\\\d+"\n',
    );
    if (!result.ok || result.details.mode !== "generic") throw new Error("expected generic details");
    expect(result.details.payloadRegexp?.matches(Buffer.from("x temp=21"))).toBe(true);
    expect(result.details.payloadRegexp?.matches(Buffer.from("x temp=?"))).toBe(false);
    expect(error('serverUrls: [tcp://b]\ntopics: [a]\npayloadRegexp: "(a)\\\\1"\n')).toContain(
      "payloadRegexp: not an RE2 pattern",
    );
  });
});

describe("the reference handler's discoveryProperties", () => {
  it("are read as ours", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
    const result = parseBrokerCredentials({
      mqtt_broker_username: Buffer.from("plant"),
      mqtt_broker_password: Buffer.from("secret"),
      mqtt_broker_ca: Buffer.from(pem),
      mqtt_broker_certificate: Buffer.from(pem),
      mqtt_broker_key: Buffer.from("-----BEGIN PRIVATE KEY-----\nk\n"),
    });
    if (!result.ok) throw new Error(result.error);
    expect(result.warnings).toStrictEqual([]);
    expect(result.credentials).toStrictEqual({
      username: "plant",
      password: "secret",
      ca: pem,
      cert: pem,
      key: "-----BEGIN PRIVATE KEY-----\nk\n",
    });
  });

  it("must agree with ours when both are given", () => {
    const result = parseBrokerCredentials({
      MQTT_USERNAME: Buffer.from("a"),
      mqtt_broker_username: Buffer.from("b"),
    });
    expect(result).toStrictEqual({
      ok: false,
      error: "MQTT_BROKER_USERNAME: differs from MQTT_USERNAME; give one",
    });
  });
});
