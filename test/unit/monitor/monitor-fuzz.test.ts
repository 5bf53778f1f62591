import { describe, expect, it } from "vitest";
import { monitorSubscriptions } from "../../../src/monitor/monitor-config.js";
import { MonitorMetrics } from "../../../src/monitor/monitor-metrics.js";
import { SparkplugDeviceView } from "../../../src/monitor/sparkplug-device-view.js";
import { DataType } from "../../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../../src/sparkplug/edge-node-encoder.js";
import { HostSession } from "../../../src/sparkplug/host/host-session.js";
import { hostOptions } from "../../../src/sparkplug/host/options.js";
import { seededRandom } from "../../../src/streams/seeded-random.js";
import { Fuzzer } from "../../support/fuzz.js";

/*
 * The monitor's own path (host session with values tracked and no seq checks, the device
 * view, the Prometheus collector) under hostile traffic on exactly the device's topics:
 * no exception, the view stays bounded to the birth's metrics, and the real device's
 * values are still right afterwards.
 */

const device = { mode: "sparkplug" as const, id: "spBv1.0/G/E/D", group: "G", edge: "E", device: "D" };

describe("the monitor under hostile traffic", () => {
  it("100,000 fuzzed payloads on the device's own topics: no exception, bounded view, right values after", async () => {
    const session = new HostSession(
      hostOptions("monitor", {
        hostId: "m",
        rebirth: { onSeqGap: false },
      }),
      seededRandom(1),
    );
    const view = new SparkplugDeviceView(device, session, false);
    const metrics = new MonitorMetrics(view);
    const fuzzer = await Fuzzer.create(seededRandom(11));
    const topics = monitorSubscriptions(device);
    const random = seededRandom(12);
    let now = 1_700_000_000_000;
    const deliver = (topic: string, payload: Uint8Array) =>
      view.apply(
        session.step(
          { kind: "message", message: { topic, payload, qos: 1, retain: false, at: now, broker: "b" } },
          now,
        ),
      );
    for (let i = 0; i < 100_000; i++) {
      now += 1;
      const topic = topics[Math.floor(random() * topics.length)]!;
      deliver(topic, fuzzer.payload().payload);
      if (i % 10_000 === 0) await metrics.text();
    }
    // The real device is born and publishes: the monitor shows exactly its metrics and values.
    const edge = new EdgeNodeEncoder("G", "E", 7n, []);
    edge.defineDevice("D", { metrics: [{ name: "Level", alias: 1, datatype: DataType.Int32, value: 1 }] });
    for (const p of edge.births(now)) deliver(p.topic, p.payload);
    now += 10;
    const data = edge.ddata("D", { Level: 42 }, now);
    deliver(data.topic, data.payload);
    const snapshot = view.snapshot();
    expect(snapshot.status).toBe("online");
    expect(snapshot.metrics.map((m) => [m.name, m.value])).toStrictEqual([["Level", 42]]);
    expect(await metrics.text()).toContain(
      'akri_mqtt_monitor_metric_value{group="G",node="E",device="D",metric="Level"} 42',
    );
  }, 60_000);
});
