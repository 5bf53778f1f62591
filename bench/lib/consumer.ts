/*
 * Benchmark consumer process: receives `count` Sparkplug DATA messages, either with a bare
 * mqtt.js subscriber that does nothing with them, or through akri-mqtt's full discovery
 * pipeline (decode, seq check, host model, inventory). Reports its receive rate and CPU.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import mqtt from "mqtt";
import { engineFor, parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import { BrokerConnection } from "../../src/mqtt/connection.js";
import { runDiscovery } from "../../src/streams/discovery-pipeline.js";
import { helperContext } from "./child.js";

interface ConsumerOptions {
  url: string;
  mode: "bare" | "pipeline";
  /** Devices the pipeline must have listed before it says it is ready (births done). */
  devices: number;
}

const { options, report, orders } = helperContext<ConsumerOptions>();

/*
 * BENCH_CONSUMER_PROFILE=<file.cpuprofile>: a CPU profile of the measured messages alone
 * (from the first DATA message to the last), without start-up and births. The pipeline's
 * alone, unless the name has `{mode}` in it: then the bare subscriber's too, beside it.
 */
const profileFile = process.env.BENCH_CONSUMER_PROFILE?.replace("{mode}", options.mode);
const profiler =
  profileFile && (options.mode === "pipeline" || process.env.BENCH_CONSUMER_PROFILE?.includes("{mode}"))
    ? new Session()
    : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
}
let target = Number.POSITIVE_INFINITY;
let received = 0;
let first = 0;
let last = 0;
let cpuAtFirst = process.cpuUsage();
const onMessage = (topic: string) => {
  if (!topic.includes("/DDATA/")) return;
  if (received === 0) {
    first = performance.now();
    cpuAtFirst = process.cpuUsage();
  }
  received++;
  last = performance.now();
  if (received === target) finish();
};

/** Reports the CPU spent from the first measured message to now, and the time to the last. */
function finish(): void {
  const ms = last - first;
  const cpu = process.cpuUsage(cpuAtFirst);
  const done = { received, ms, cpuUs: cpu.user + cpu.system };
  target = Number.POSITIVE_INFINITY;
  if (profiler && profileFile)
    void profiler.post("Profiler.stop").then(({ profile }) => {
      writeFileSync(profileFile, JSON.stringify(profile));
      report("done", done);
    });
  else report("done", done);
}

if (options.mode === "bare") {
  const client = mqtt.connect(options.url, { clientId: "bench-bare", protocolVersion: 5, clean: true });
  client.on("message", (topic) => onMessage(topic));
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  await client.subscribeAsync("spBv1.0/#", { qos: 0 });
  report("ready");
} else {
  const parsed = parseDiscoveryDetails(
    `serverUrls: [${options.url}]\nsparkplug: {publishState: false, rebirth: {maxPerSecond: 0}}`,
  );
  if (!parsed.ok) throw new Error(parsed.error);
  const engine = engineFor(parsed.details, { suffix: "bench" });
  const connection = new BrokerConnection({
    serverUrls: parsed.details.brokers[0]!.serverUrls,
    clientId: "bench-pipeline",
    mqttVersion: 5,
    credentials: {},
  });
  connection.subscribe(engine.subscriptions);
  let listed = 0;
  let readyReported = false;
  runDiscovery(engine, { messages$: connection.messages$, status$: connection.status$ }).subscribe(
    (output) => {
      for (const emission of output.emissions) listed = emission.devices.length;
      if (!readyReported && listed >= options.devices) {
        readyReported = true;
        report("ready", { listed });
      }
    },
  );
  // Subscribed after the pipeline: a message is counted once the engine has processed it.
  connection.messages$.subscribe((m) => onMessage(m.topic));
  await new Promise<void>((resolve) => connection.status$.subscribe((s) => s.kind === "online" && resolve()));
  report("online");
}

for await (const order of orders()) {
  if (order.do === "expect") {
    target = Number(order.count);
    received = 0;
    if (profiler) await profiler.post("Profiler.start");
  } else if (order.do === "stop") {
    // Fewer messages came than expected (the broker dropped some for a consumer that fell behind).
    if (target !== Number.POSITIVE_INFINITY) finish();
  } else if (order.do === "exit") {
    process.exit(0);
  }
}
