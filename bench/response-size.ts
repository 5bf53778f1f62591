/*
 * Response size: bytes per device in a DiscoverResponse with the standard properties, and
 * the largest list that fits under the agent's 4 MiB receive limit.
 * Run: npm run bench:size
 */
import { encodeList, MAX_RESPONSE_BYTES } from "../src/akri/discover-service.js";
import type { DiscoveredDevice } from "../src/discovery/device.js";
import { formatRatio, printTable, saveResults } from "./lib/measure.js";

/** A device as discovery lists it, with realistic ids (group, 4-digit edge, device name). */
function device(i: number, brokerUri: string): DiscoveredDevice {
  const group = `Plant-${String(i % 12).padStart(2, "0")}`;
  const edge = `Edge-${String(Math.floor(i / 10) % 10000).padStart(4, "0")}`;
  const name = `Device-${String(i % 10).padStart(2, "0")}`;
  return {
    id: `spBv1.0/${group}/${edge}/${name}`,
    kind: "sparkplug-device",
    properties: {
      MQTT_BROKER_URI: brokerUri,
      SPARKPLUG_GROUP_ID: group,
      SPARKPLUG_EDGE_NODE_ID: edge,
      SPARKPLUG_DEVICE_ID: name,
      SPARKPLUG_DATA_TOPIC: `spBv1.0/${group}/DDATA/${edge}/${name}`,
    },
  };
}

export async function main(): Promise<void> {
  const brokerUri = "tcp://mosquitto.iot.svc.cluster.local:1883";
  const devices = Array.from({ length: 40_000 }, (_, i) => device(i, brokerUri));
  const sample = devices.slice(0, 10_000);
  const bytesPerDevice = encodeList(sample, Number.POSITIVE_INFINITY).bytes.length / sample.length;
  const { kept: largest, cut } = encodeList(devices, MAX_RESPONSE_BYTES);
  process.stdout.write("response size: Sparkplug devices with the standard properties\n\n");
  printTable(
    ["figure", "value", "goal"],
    [
      ["bytes per device", bytesPerDevice.toFixed(1), ""],
      ["largest list under 4 MiB", String(largest), ">= 10,000"],
      ["ratio to goal", `${(largest / 10_000).toFixed(2)}x`, ">= 1x"],
    ],
  );
  await saveResults(
    "responseSize",
    { bytesPerDevice, largestList: largest, cutOf40000: cut, goal: 10_000, ratio: largest / 10_000 },
    [
      {
        benchmark: "response size",
        ours: `${bytesPerDevice.toFixed(0)} B/device`,
        baseline: `largest list ${largest} under 4 MiB`,
        ratio: formatRatio(largest / 10_000),
        goal: ">= 10,000 devices",
      },
    ],
  );
}

await main();
