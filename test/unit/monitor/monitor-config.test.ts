import { describe, expect, it } from "vitest";
import { monitorConfig, monitorSubscriptions } from "../../../src/monitor/monitor-config.js";

/* The monitor's configuration from what Akri puts in a broker pod's environment. */

const device = {
  MQTT_BROKER_URI: "tcp://a:1883,tcp://b:1883",
  SPARKPLUG_GROUP_ID: "Plant1",
  SPARKPLUG_EDGE_NODE_ID: "Line3",
  SPARKPLUG_DEVICE_ID: "Pump7",
  SPARKPLUG_DATA_TOPIC: "spBv1.0/Plant1/DDATA/Line3/Pump7",
};

/** As Akri's agent sets them: KEY and KEY_<HASH>. */
function akri(properties: Record<string, string>, hash: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(properties)) {
    env[k] = v;
    env[`${k}_${hash}`] = v;
  }
  return env;
}

describe("monitor configuration from the environment", () => {
  it("follows a device across every broker MQTT_BROKER_URIS lists (several brokers), its own alone otherwise", () => {
    const several = monitorConfig({
      ...akri({ ...device, MQTT_BROKER_URIS: "tcp://a:1883,tcp://b:1883 tcp://c:1883" }, "8120FE"),
    });
    expect(several.ok && several.config.brokers).toStrictEqual([
      ["tcp://a:1883", "tcp://b:1883"],
      ["tcp://c:1883"],
    ]);
    const one = monitorConfig(akri(device, "8120FE"));
    expect(one.ok && one.config.brokers).toStrictEqual([["tcp://a:1883", "tcp://b:1883"]]);
    const bad = monitorConfig(akri({ ...device, MQTT_BROKER_URIS: "tcp://a:1883 nota url" }, "8120FE"));
    expect(bad.ok ? "accepted" : bad.error).toContain(
      "MQTT_BROKER_URIS: expected brokers separated by spaces",
    );
  });

  it("gives each broker its own secrets by position in MQTT_BROKER_URIS, the shared ones otherwise", () => {
    const env = {
      ...akri({ ...device, MQTT_BROKER_URIS: "tcp://a:1883,tcp://b:1883 tcp://c:1883" }, "8120FE"),
      MQTT_USERNAME: "plant",
      MQTT_PASSWORD: "shared",
      MQTT_PASSWORD_2: "site-b",
    };
    const result = monitorConfig(env);
    expect(result.ok && result.config.credentials).toStrictEqual([
      { username: "plant", password: "shared" },
      { username: "plant", password: "site-b" },
    ]);
    // One broker: a suffixed secret means nothing, the shared ones are its own.
    const one = monitorConfig({ ...akri(device, "8120FE"), MQTT_USERNAME: "plant", MQTT_PASSWORD: "shared" });
    expect(one.ok && one.config.credentials).toStrictEqual([{ username: "plant", password: "shared" }]);
  });

  it("takes each broker's own secrets by its name in MQTT_BROKER_NAMES, as the handler does, so reordering brokers swaps nothing", () => {
    const secrets = {
      MQTT_USERNAME: "plant",
      MQTT_PASSWORD: "shared",
      MQTT_PASSWORD_SITE_B: "site-b",
      MQTT_PASSWORD_1: "first-by-position",
    };
    const env = (uris: string, names: string) => ({
      ...akri({ ...device, MQTT_BROKER_URIS: uris, MQTT_BROKER_NAMES: names }, "8120FE"),
      ...secrets,
    });
    const inOrder = monitorConfig(env("tcp://a:1883 tcp://b:1883", "SITE_A SITE_B"));
    expect(inOrder.ok && inOrder.config.credentials).toStrictEqual([
      { username: "plant", password: "first-by-position" },
      { username: "plant", password: "site-b" },
    ]);
    // The Configuration lists site_b first now: it keeps its own password; the position
    // fallback goes with the position.
    const reordered = monitorConfig(env("tcp://b:1883 tcp://a:1883", "SITE_B SITE_A"));
    expect(reordered.ok && reordered.config.credentials).toStrictEqual([
      { username: "plant", password: "site-b" },
      { username: "plant", password: "shared" },
    ]);
    const wrong = monitorConfig(env("tcp://a:1883 tcp://b:1883", "ONLY_ONE"));
    expect(wrong.ok ? "accepted" : wrong.error).toBe(
      "MQTT_BROKER_NAMES: expected one name per broker of MQTT_BROKER_URIS (2), got 1",
    );
  });

  it("reads a Sparkplug device from the properties Akri injects (plain and hash-suffixed)", () => {
    const result = monitorConfig({ ...akri(device, "8120FE"), HOSTNAME: "pump-pod" });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      device: {
        mode: "sparkplug",
        id: "spBv1.0/Plant1/Line3/Pump7",
        group: "Plant1",
        edge: "Line3",
        device: "Pump7",
      },
      serverUrls: ["tcp://a:1883", "tcp://b:1883"],
      instanceHash: "8120FE",
      clientId: "akri-mqtt-monitor-pump-pod",
      mqttVersion: 5,
      httpPort: 8080,
      allowCommands: false,
    });
  });

  it("prefers the instance's own suffixed values over plain ones another instance may have overwritten", () => {
    const env = { ...akri(device, "AAAAAA"), SPARKPLUG_DEVICE_ID: "SomeoneElse" };
    const result = monitorConfig(env);
    expect(result.ok && result.config.device.id).toBe("spBv1.0/Plant1/Line3/Pump7");
  });

  it("works with only the suffixed form (Akri before 0.13.8)", () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(device)) env[`${k}_0A1B2C`] = v;
    const result = monitorConfig(env);
    expect(result.ok && result.config.device.id).toBe("spBv1.0/Plant1/Line3/Pump7");
  });

  it("asks which instance when a pod was given several, and takes MONITOR_INSTANCE", () => {
    const env = { ...akri(device, "AAAAAA"), ...akri({ ...device, SPARKPLUG_DEVICE_ID: "Pump8" }, "BBBBBB") };
    const result = monitorConfig(env);
    expect(!result.ok && result.error).toMatch(/several Akri instances \(AAAAAA, BBBBBB\).*MONITOR_INSTANCE/);
    const chosen = monitorConfig({ ...env, MONITOR_INSTANCE: "bbbbbb" });
    expect(chosen.ok && chosen.config.device.id).toBe("spBv1.0/Plant1/Line3/Pump8");
  });

  it("an edge node instance (no device id) watches the node's NDATA", () => {
    const { SPARKPLUG_DEVICE_ID: _, ...node } = device;
    const result = monitorConfig(node);
    expect(result.ok && result.config.device.id).toBe("spBv1.0/Plant1/Line3");
    if (!result.ok) return;
    expect(monitorSubscriptions(result.config.device)).toContain("spBv1.0/Plant1/NDATA/Line3");
  });

  it("a device's subscriptions: its own topics, its node's birth and death, rebirth requests, certificates", () => {
    const result = monitorConfig(device);
    if (!result.ok) throw new Error(result.error);
    expect(monitorSubscriptions(result.config.device)).toStrictEqual([
      "spBv1.0/Plant1/NBIRTH/Line3",
      "spBv1.0/Plant1/NDEATH/Line3",
      "spBv1.0/Plant1/NCMD/Line3",
      "spBv1.0/Plant1/DBIRTH/Line3/Pump7",
      "spBv1.0/Plant1/DDATA/Line3/Pump7",
      "spBv1.0/Plant1/DDEATH/Line3/Pump7",
      "$sparkplug/certificates/spBv1.0/Plant1/NBIRTH/Line3",
      "$sparkplug/certificates/spBv1.0/Plant1/DBIRTH/Line3/Pump7",
    ]);
  });

  it("reads a generic device from MQTT_TOPIC and MQTT_DEVICE_ID", () => {
    const result = monitorConfig({
      MQTT_BROKER_URI: "tcp://a:1883",
      MQTT_TOPIC: "robots/r1/joints",
      MQTT_DEVICE_ID: "r1",
    });
    expect(result.ok && result.config.device).toStrictEqual({
      mode: "generic",
      id: "r1",
      topic: "robots/r1/joints",
    });
  });

  it.each([
    [{}, /MQTT_BROKER_URI: not set/],
    [{ MQTT_BROKER_URI: "tcp://a:1883" }, /no device: expected SPARKPLUG_GROUP_ID/],
    [{ MQTT_BROKER_URI: "tcp://a:1883", SPARKPLUG_GROUP_ID: "G" }, /SPARKPLUG_EDGE_NODE_ID: not set/],
    [{ ...device, MONITOR_HTTP_PORT: "http" }, /MONITOR_HTTP_PORT: expected a port number, got "http"/],
    [{ ...device, MONITOR_MQTT_VERSION: "4" }, /MONITOR_MQTT_VERSION: expected 3 or 5/],
    [{ ...device, MONITOR_WILL_TOPIC: "x", MONITOR_WILL_QOS: "2" }, /MONITOR_WILL_QOS: expected 0 or 1/],
    [{ ...device, MQTT_CLIENT_KEY: "not a key" }, /MQTT_CLIENT_KEY/],
  ])("refuses %j naming the variable", (env, error) => {
    const result = monitorConfig(env as Record<string, string>);
    expect(!result.ok && result.error).toMatch(error);
  });

  it("never echoes a secret in an error", () => {
    const result = monitorConfig({ ...device, MQTT_CLIENT_KEY: "not-a-key-s3cr3t" });
    expect(!result.ok && result.error).not.toContain("s3cr3t");
  });

  it("enables commands only when asked, and takes a Will", () => {
    const result = monitorConfig({
      ...device,
      MONITOR_ALLOW_COMMANDS: "true",
      MONITOR_WILL_TOPIC: "monitors/pump7",
      MONITOR_WILL_PAYLOAD: "gone",
    });
    expect(result.ok && result.config.allowCommands).toBe(true);
    expect(result.ok && result.config.will).toStrictEqual({
      topic: "monitors/pump7",
      payload: "gone",
      qos: 1,
      retain: false,
    });
  });
});
