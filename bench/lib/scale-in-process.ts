/*
 * The scale benchmark's in-process parts, through the discovery engine alone (no broker):
 * CPU per message as a fleet grows, for generic (plain MQTT) discovery, for a cold start
 * among edge nodes whose births were missed, and for a plant spread over two brokers.
 */
import { FleetTraffic } from "./fleet-traffic.js";
import { cpuPerMessage, InProcessEngine } from "./in-process-engine.js";
import { median } from "./measure.js";

/** CPU per DATA message from `nodes` edge nodes the handler never saw born (it joined late). */
function coldStartCpuPerMessage(nodes: number): number {
  const fleet = new FleetTraffic({ nodes, devices: 10, metrics: 20, dataMetrics: 10 });
  const h = new InProcessEngine("serverUrls: [tcp://plant:1883]\nsparkplug: {publishState: false}");
  for (let n = 0; n < nodes; n++) fleet.births(n, h.now); // published before we joined
  let rebirths = 0;
  let sent = 0;
  const step = (m: { topic: string; payload: Buffer }) => {
    rebirths += h.message(m.topic, m.payload).commands.length;
    if (++sent % 50 === 0) h.now++;
  };
  // One message from every device first (not timed): the handler has met the whole plant.
  for (let k = 0; k < nodes * 10; k++) step(fleet.data(k));
  const messages = 50_000;
  const traffic = Array.from({ length: messages }, (_, k) => fleet.data(nodes * 10 + k));
  const cpu = cpuPerMessage(messages, () => {
    for (const m of traffic) step(m);
  });
  if (rebirths === 0 || rebirths > (h.now / 1000 + 1) * 10)
    throw new Error(`cold start: ${rebirths} rebirth requests`);
  return cpu;
}

/**
 * CPU per DATA message of a plant of `nodes` edge nodes spread over `brokers` independent
 * brokers (each node born on its own, its DATA from there): several brokers must cost what
 * one does, per message.
 */
function brokersCpuPerMessage(nodes: number, brokers: 1 | 2): number {
  const uris = brokers === 1 ? ["tcp://a:1883"] : ["tcp://a:1883", "tcp://b:1883"];
  const details =
    brokers === 1
      ? "serverUrls: [tcp://a:1883]\nsparkplug: {publishState: false}"
      : "brokers: [{serverUrls: [tcp://a:1883]}, {serverUrls: [tcp://b:1883]}]\nsparkplug: {publishState: false}";
  const fleet = new FleetTraffic({ nodes, devices: 10, metrics: 20, dataMetrics: 10 });
  const h = new InProcessEngine(details, uris);
  const brokerOf = (node: number) => uris[node % uris.length]!;
  for (let n = 0; n < nodes; n++)
    for (const m of fleet.births(n, h.now)) h.message(m.topic, m.payload, brokerOf(n));
  const messages = 100_000;
  // fleet.data(k) is node k % nodes: each message comes from its node's broker.
  const traffic = Array.from({ length: messages }, (_, k) => ({
    ...fleet.data(k),
    broker: brokerOf(k % nodes),
  }));
  let sent = 0;
  const cpu = cpuPerMessage(messages, () => {
    for (const m of traffic) {
      h.message(m.topic, m.payload, m.broker);
      if (++sent % 100 === 0) h.now++;
    }
  });
  if (h.engine.discoverer.list().length !== nodes * 10) throw new Error("brokers: devices were lost");
  return cpu;
}

/** CPU per message of generic discovery (idle timeouts, grace) with `devices` topics, all publishing. */
function genericCpuPerMessage(devices: number): number {
  const h = new InProcessEngine(
    "mode: generic\nserverUrls: [tcp://plant:1883]\ntopics: [sensors/#]\nidleTimeoutSeconds: 60\nofflineGraceSeconds: 30",
  );
  const payload = Buffer.from('{"v":1}');
  for (let i = 0; i < devices; i++) h.message(`sensors/s${i}/v`, payload);
  const messages = Math.max(devices, 100_000);
  const cpu = cpuPerMessage(messages, () => {
    for (let i = 0; i < messages; i++) {
      h.message(`sensors/s${i % devices}/v`, payload);
      if (i % 100 === 0) h.now++;
    }
  });
  if (h.engine.discoverer.list().length !== devices) throw new Error("generic scale: devices were lost");
  return cpu;
}

/** CPU per message at three sizes, and how much it grew from the smallest to the largest. */
export interface Growth<Level> {
  levels: Level[];
  cpuGrowth: number;
}

function growth<Level extends { cpuUsPerMessage: number }>(levels: Level[]): Growth<Level> {
  return { levels, cpuGrowth: levels.at(-1)!.cpuUsPerMessage / levels[0]!.cpuUsPerMessage };
}

/** Generic discovery with a hundredth, a tenth and all of `devices` topic devices. */
export function genericScale(devices: number): Growth<{ devices: number; cpuUsPerMessage: number }> {
  return growth(
    [devices / 100, devices / 10, devices].map((d) => ({
      devices: d,
      cpuUsPerMessage: genericCpuPerMessage(d),
    })),
  );
}

/** A cold start among a hundredth, a tenth and all of `nodes` unknown edge nodes. */
export function coldStartScale(nodes: number): Growth<{ nodes: number; cpuUsPerMessage: number }> {
  // Warmed up first: the smallest plant measured cold would be mostly the JIT at work.
  coldStartCpuPerMessage(nodes / 100);
  return growth(
    [nodes / 100, nodes / 10, nodes].map((n) => ({ nodes: n, cpuUsPerMessage: coldStartCpuPerMessage(n) })),
  );
}

/** One broker against two, for a plant of `nodes` edge nodes. */
export function brokersCompared(nodes: number): {
  nodes: number;
  oneBrokerCpuUs: number;
  twoBrokersCpuUs: number;
  ratio: number;
} {
  // Warm both up, then three rounds of one broker and two in turn; medians (a DATA message
  // is a few µs here, so one run of each is at the mercy of the garbage collector).
  brokersCpuPerMessage(nodes, 2);
  brokersCpuPerMessage(nodes, 1);
  const ones: number[] = [];
  const twos: number[] = [];
  for (let round = 0; round < 3; round++) {
    ones.push(brokersCpuPerMessage(nodes, 1));
    twos.push(brokersCpuPerMessage(nodes, 2));
  }
  const [oneBrokerCpuUs, twoBrokersCpuUs] = [median(ones), median(twos)];
  return { nodes, oneBrokerCpuUs, twoBrokersCpuUs, ratio: twoBrokersCpuUs / oneBrokerCpuUs };
}
