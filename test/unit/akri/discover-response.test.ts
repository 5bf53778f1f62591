import { describe, expect, it } from "vitest";
import { encodeList, MAX_RESPONSE_BYTES } from "../../../src/akri/discover-service.js";
import { decodeResponse, encodeResponse } from "../../../src/akri/proto.js";
import type { DiscoveredDevice } from "../../../src/discovery/device.js";

function device(i: number): DiscoveredDevice {
  const id = `spBv1.0/Plant-${i % 7}/Edge-${String(i % 1000).padStart(4, "0")}/Device-${String(i).padStart(6, "0")}`;
  return {
    id,
    kind: "sparkplug-device",
    properties: {
      MQTT_BROKER_URI: "mqtts://broker-1.plant.example:8883,mqtts://broker-2.plant.example:8883",
      SPARKPLUG_GROUP_ID: `Plant-${i % 7}`,
      SPARKPLUG_EDGE_NODE_ID: `Edge-${String(i % 1000).padStart(4, "0")}`,
      SPARKPLUG_DEVICE_ID: `Device-${String(i).padStart(6, "0")}`,
      SPARKPLUG_DATA_TOPIC: `spBv1.0/Plant-${i % 7}/DDATA/Edge-${String(i % 1000).padStart(4, "0")}/Device-${String(i).padStart(6, "0")}`,
    },
  };
}

describe("DiscoverResponse encoding", () => {
  it("sends a list that fits as it is, byte for byte what the proto encodes", () => {
    const devices = Array.from({ length: 1000 }, (_, i) => device(i));
    const { bytes, kept, cut } = encodeList(devices, MAX_RESPONSE_BYTES);
    expect([kept, cut]).toStrictEqual([1000, 0]);
    const wire = devices.map((d) => ({ id: d.id, properties: d.properties, mounts: [], deviceSpecs: [] }));
    expect(bytes.equals(encodeResponse({ devices: wire }))).toBe(true);
    expect(decodeResponse(bytes).devices.map((d) => d.id)).toStrictEqual(devices.map((d) => d.id));
  });

  it("encodes non-ASCII ids and values, and long ones, byte for byte as the proto does", () => {
    const devices: DiscoveredDevice[] = [
      { id: "spBv1.0/Usine/Ligne-é/Pompe-ü", kind: "sparkplug-device", properties: { NAME: "Größe ✓ 温度" } },
      { id: "x".repeat(20_000), kind: "topic", properties: { MQTT_TOPIC: "y".repeat(300), EMPTY: "" } },
      { id: "no-properties", kind: "topic", properties: {} },
    ];
    const wire = devices.map((d) => ({ id: d.id, properties: d.properties, mounts: [], deviceSpecs: [] }));
    expect(encodeList(devices, MAX_RESPONSE_BYTES).bytes.equals(encodeResponse({ devices: wire }))).toBe(
      true,
    );
  });

  it("cuts a list over 4 MiB at the end of its order, to just under the limit", () => {
    const devices = Array.from({ length: 30_000 }, (_, i) => device(i));
    const { bytes, kept, cut } = encodeList(devices, MAX_RESPONSE_BYTES);
    expect(cut).toBeGreaterThan(0);
    expect(kept + cut).toBe(30_000);
    expect(decodeResponse(bytes).devices.map((d) => d.id)).toStrictEqual(
      devices.slice(0, kept).map((d) => d.id),
    );
    expect(bytes.length).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    // Nearly full: one more device would not have fitted.
    expect(bytes.length + 400).toBeGreaterThan(MAX_RESPONSE_BYTES);
  });
});
