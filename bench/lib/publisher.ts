/*
 * Benchmark publisher process: a share of a FleetTraffic plant (its nodes), births on
 * request, then DATA as fast as the connection takes it.
 */
import mqtt from "mqtt";
import { helperContext } from "./child.js";
import { type FleetShape, FleetTraffic } from "./fleet-traffic.js";

interface PublisherOptions {
  url: string;
  shape: FleetShape;
  clientId: string;
  /** TCP_NODELAY on its socket (mqtt.js leaves Nagle's algorithm on). */
  noDelay?: boolean;
}

const { options, report, orders } = helperContext<PublisherOptions>();
const fleet = new FleetTraffic(options.shape);
const client = mqtt.connect(options.url, {
  clientId: options.clientId,
  protocolVersion: 4,
  clean: true,
  reconnectPeriod: 0,
});
await new Promise<void>((resolve) => client.once("connect", () => resolve()));
if (options.noDelay) (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
report("ready");

async function publishBatch(
  messages: () => Iterable<{ topic: string; payload: Uint8Array }>,
  perSecond?: number,
): Promise<number> {
  let count = 0;
  const started = performance.now();
  for (const m of messages()) {
    client.publish(m.topic, m.payload as Buffer, { qos: 0 });
    count++;
    if (perSecond !== undefined) {
      // Paced: a steady stream, the same for whoever receives it, in bursts of a few ms.
      const due = started + (count / perSecond) * 1000;
      if (due - performance.now() > 4)
        await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    } else if (count % 2000 === 0) {
      // Let the socket drain now and then, so that memory stays flat.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  await client.publishAsync("bench/flush", "", { qos: 1 });
  return count;
}

let next = 0;
for await (const order of orders()) {
  if (order.do === "births") {
    // Nodes [from, to) of this publisher's share, optionally paced (births per second).
    const from = Number(order.from ?? 0);
    const to = Number(order.to ?? fleet.shape.nodes);
    const perSecond = order.perSecond === undefined ? undefined : Number(order.perSecond);
    const started = Date.now();
    let count = 0;
    // With `record`, when each DBIRTH went out (device id → ms), for latency measurements.
    const published: [string, number][] = [];
    let lastBirthAt = Date.now();
    for (let n = from; n < to; n++) {
      for (const p of fleet.births(n, Date.now())) {
        client.publish(p.topic, Buffer.from(p.payload), { qos: 0 });
        count++;
        if (order.record && p.topic.includes("/DBIRTH/"))
          published.push([p.topic.replace("/DBIRTH", ""), Date.now()]);
      }
      lastBirthAt = Date.now();
      if (perSecond !== undefined) {
        const due = started + (count / perSecond) * 1000;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      } else if (n % 50 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await client.publishAsync("bench/flush", "", { qos: 1 });
    report("births-done", { count, lastBirthAt, ...(order.record ? { published } : {}) });
  } else if (order.do === "data") {
    const total = Number(order.count);
    const nodes = order.nodes === undefined ? undefined : Number(order.nodes);
    const started = Date.now();
    const perSecond = order.perSecond === undefined ? undefined : Number(order.perSecond);
    const count = await publishBatch(function* () {
      for (let i = 0; i < total; i++) yield fleet.data(next++, nodes);
    }, perSecond);
    report("data-done", { count, ms: Date.now() - started });
  } else if (order.do === "exit") {
    await client.endAsync();
    process.exit(0);
  }
}
