/*
 * The measured process of the scale benchmark: akri-mqtt's discovery pipeline against a
 * broker, reporting when its device list reaches a size, its memory after GC, and the CPU
 * it spends per DATA message. Run with --expose-gc.
 */
import { engineFor, parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import { BrokerConnection } from "../../src/mqtt/connection.js";
import { runDiscovery } from "../../src/streams/discovery-pipeline.js";
import { helperContext } from "./child.js";

const { options, report, orders } = helperContext<{ url: string }>();
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { rss: number; heapUsed: number; external: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

const parsed = parseDiscoveryDetails(
  `serverUrls: [${options.url}]\nsparkplug: {publishState: false, rebirth: {maxPerSecond: 0}}`,
);
if (!parsed.ok) throw new Error(parsed.error);
const engine = engineFor(parsed.details, { suffix: "bench-scale" });
const connection = new BrokerConnection({
  serverUrls: parsed.details.brokers[0]!.serverUrls,
  clientId: "bench-scale",
  mqttVersion: 5,
  credentials: {},
});
connection.subscribe(engine.subscriptions);
let waitingFor = Number.POSITIVE_INFINITY;
let dataTarget = Number.POSITIVE_INFINITY;
let dataSeen = 0;
let cpuStart = process.cpuUsage();
runDiscovery(engine, { messages$: connection.messages$, status$: connection.status$ }).subscribe((output) => {
  for (const emission of output.emissions) {
    if (emission.devices.length >= waitingFor) {
      waitingFor = Number.POSITIVE_INFINITY;
      report("listed", { devices: emission.devices.length, at: Date.now() });
    }
  }
});
connection.messages$.subscribe((m) => {
  if (!m.topic.includes("/DDATA/")) return;
  if (dataSeen === 0) cpuStart = process.cpuUsage();
  if (++dataSeen === dataTarget) {
    const cpu = process.cpuUsage(cpuStart);
    report("data-done", { cpuUs: cpu.user + cpu.system, messages: dataSeen });
  }
});
await new Promise<void>((resolve) => connection.status$.subscribe((s) => s.kind === "online" && resolve()));
report("online", { memory: memory() });

for await (const order of orders()) {
  if (order.do === "await-devices") waitingFor = Number(order.count);
  else if (order.do === "memory")
    report("memory", { memory: memory(), devices: engine.discoverer.list().length });
  else if (order.do === "expect-data") {
    dataTarget = Number(order.count);
    dataSeen = 0;
  } else if (order.do === "exit") process.exit(0);
}
