import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import mqtt, { type MqttClient } from "mqtt";
import { BehaviorSubject, Subject, VirtualTimeScheduler } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServeMetrics } from "../../src/cli/serve-metrics.js";
import type { DiscoveryEngine, EngineOutput } from "../../src/discovery/engine.js";
import { engineFor, parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import type { SparkplugDiscoverer } from "../../src/discovery/sparkplug/sparkplug-discoverer.js";
import type { ConnectionStatus } from "../../src/mqtt/connection.js";
import type { MqttMessage } from "../../src/mqtt/message.js";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";
import { runDiscovery } from "../../src/streams/discovery-pipeline.js";
import { seededRandom } from "../../src/streams/seeded-random.js";
import { TestAgent } from "../support/akri-agent.js";
import { deepTemplate, Fuzzer, invalidUtf8Names, referencePayloadDecoder } from "../support/fuzz.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { mappedId } from "../support/mapped-id.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";

/*
 * Hostile input through the whole discovery pipeline (runDiscovery → engine → host model →
 * inventory → lists, with /metrics counting), on virtual time so that a million messages
 * take seconds: nothing crashes, every malformed payload is counted, a healthy plant next
 * to the noise stays listed, and memory stays bounded.
 */

const FUZZ_MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 1_000_000);
const BROKER = "tcp://fuzz.test:1883";

function randomBuffer(length: number, random: () => number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function gcFunction(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** A discovery pipeline on virtual time, fed one message at a time; each message's outputs. */
class VirtualPipeline {
  readonly scheduler = new VirtualTimeScheduler();
  readonly messages$ = new Subject<MqttMessage>();
  readonly metrics = new ServeMetrics();
  readonly engine: DiscoveryEngine;
  lastList: string[] = [];
  lists = 0;
  duplicateIdLists = 0;
  commands = 0;
  private current: EngineOutput[] = [];

  constructor(detailsYaml: string, start: number) {
    const parsed = parseDiscoveryDetails(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.engine = engineFor(parsed.details, { suffix: "fuzz-host", random: seededRandom(3) });
    this.scheduler.frame = start;
    const status$ = new BehaviorSubject<ConnectionStatus>({
      kind: "online",
      broker: BROKER,
      listener: BROKER,
      willTimestamp: start,
      protocolVersion: 5,
    });
    runDiscovery(
      this.engine,
      {
        messages$: this.messages$,
        status$,
        publish: () => {
          this.commands++;
        },
      },
      this.scheduler,
    ).subscribe((output) => {
      this.current.push(output);
      this.metrics.discovery.observe(output.report);
      for (const emission of output.emissions) {
        this.lists++;
        this.lastList = emission.devices.map((d) => d.id);
        if (new Set(this.lastList).size !== this.lastList.length) this.duplicateIdLists++;
      }
    });
  }

  /** Moves the clock to `at` (timers fire on the way) and delivers a message; its outputs. */
  send(topic: string, payload: Uint8Array, at: number): EngineOutput[] {
    this.scheduler.maxFrames = at;
    this.scheduler.flush();
    if (this.scheduler.frame < at) this.scheduler.frame = at;
    this.current = [];
    this.messages$.next({ topic, payload, qos: 0, retain: false, at, broker: BROKER });
    return this.current;
  }

  drain(until: number): void {
    this.scheduler.maxFrames = until;
    this.scheduler.flush();
  }

  async counter(name: string): Promise<number> {
    const text = await this.metrics.text();
    let sum = 0;
    for (const line of text.split("\n"))
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(" ").at(-1));
    return sum;
  }
}

/** A well-behaved edge node with three devices, publishing next to the noise. */
function healthyPlant() {
  const edge = new EdgeNodeEncoder("Control", "Healthy", 0n, [
    { name: "Properties/OS", datatype: DataType.String, value: "rtos" },
  ]);
  for (const id of ["D0", "D1", "D2"])
    edge.defineDevice(id, {
      metrics: [
        { name: "Level", alias: 1, datatype: DataType.Int32, value: 1 },
        { name: "Properties/Hardware Make", alias: 2, datatype: DataType.String, value: "Acme" },
      ],
    });
  return edge;
}

const SPARKPLUG_STATE_TOPIC =
  /^spBv1\.0\/FG\d+\/(N(BIRTH|DATA|DEATH)\/FE\d+|D(BIRTH|DATA|DEATH)\/FE\d+\/FD\d+)$/;

describe("hostile Sparkplug traffic through the discovery pipeline", () => {
  it(`${FUZZ_MESSAGES.toLocaleString()} fuzzed messages: no crash, every malformed payload counted, the healthy plant listed, memory bounded`, async () => {
    const gc = gcFunction();
    const start = 1_700_000_000_000;
    const pipeline = new VirtualPipeline(
      `serverUrls: [${BROKER}]\nsparkplug: {properties: {HARDWARE_MAKE: Properties/Hardware Make}}`,
      start,
    );
    const fuzzer = await Fuzzer.create(seededRandom(20261124));
    const wellFormed = referencePayloadDecoder();
    const plant = healthyPlant();
    for (const p of plant.births(start)) pipeline.send(p.topic, p.payload, start);

    const specials: [string, Buffer][] = [
      ["template nested 5,000 deep", deepTemplate(5000)],
      ["names that are not UTF-8", invalidUtf8Names()],
      ["10 MB of random bytes", randomBuffer(10 * 1024 * 1024, seededRandom(5))],
      ["10 MB of zeroes", Buffer.alloc(10 * 1024 * 1024)],
    ];
    let malformed = 0;
    const uncounted: string[] = [];
    let heapAfterWarmup = 0;
    let at = start;
    for (let i = 0; i < FUZZ_MESSAGES; i++) {
      at += 1;
      if (i % 1000 === 500) {
        const data = plant.ddata(`D${i % 3}`, { Level: i }, at);
        pipeline.send(data.topic, data.payload, at);
      }
      if (i % 100_000 === 50_000) {
        for (const [how, payload] of specials) {
          const topic = `spBv1.0/FG1/NBIRTH/FE${i % 7}`;
          const outputs = pipeline.send(topic, payload, at);
          if (!wellFormed(payload)) {
            malformed++;
            if (!outputs.some((o) => o.report.some((e) => e.problem))) uncounted.push(`${how} on ${topic}`);
          }
        }
      }
      const message = fuzzer.next();
      const outputs = pipeline.send(message.topic, message.payload, at);
      if (SPARKPLUG_STATE_TOPIC.test(message.topic) && !wellFormed(message.payload)) {
        malformed++;
        // Counted as malformed, or as another problem that kept the host from decoding it
        // (a DATA or DBIRTH from a node never born is not decoded: there is no birth to read it with).
        const counted = outputs.some((o) => o.report.some((e) => e.problem));
        if (!counted && uncounted.length < 10)
          uncounted.push(
            `${message.how} on ${message.topic}: ${message.payload.toString("hex").slice(0, 80)}`,
          );
      }
      if (i === 100_000) {
        gc();
        heapAfterWarmup = process.memoryUsage().heapUsed;
      }
    }
    const end = at + 120_000;
    pipeline.drain(end);
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapAfterWarmup;

    process.stdout.write(
      `fuzz: ${FUZZ_MESSAGES.toLocaleString()} messages, ${malformed.toLocaleString()} malformed, heap growth after warm-up ${(heapGrowth / 1024 / 1024).toFixed(1)} MiB, ${pipeline.commands} rebirth/STATE publishes\n`,
    );
    expect(uncounted).toStrictEqual([]);
    expect(malformed).toBeGreaterThan(FUZZ_MESSAGES / 10);
    const decodeErrors = await pipeline.counter("akri_mqtt_decode_errors_total");
    const problems = await pipeline.counter("akri_mqtt_protocol_problems_total");
    expect(decodeErrors).toBeGreaterThan(malformed / 2);
    expect(decodeErrors + problems).toBeGreaterThanOrEqual(malformed);
    // The healthy plant, untouched by the noise, is listed, and no list ever repeats an id.
    // (Its mapped make is part of each id: the same as long as the noise changed no birth.)
    expect(pipeline.lastList.filter((id) => id.startsWith("spBv1.0/Control/"))).toStrictEqual(
      ["D0", "D1", "D2"].map((d) => mappedId(`spBv1.0/Control/Healthy/${d}`, { HARDWARE_MAKE: "Acme" })),
    );
    expect(pipeline.duplicateIdLists).toBe(0);
    // Rebirth requests for the noise stay within the policy: at most 10 per second of traffic.
    expect(pipeline.commands).toBeLessThanOrEqual(((end - start) / 1000) * 10 + 10);
    // Bounded: the model holds the fuzzed names ((8 + 2 long) groups × 32 edge nodes) at most, and the heap did not grow with the traffic.
    const { session } = pipeline.engine.discoverer as SparkplugDiscoverer;
    expect(session.nodes.size).toBeLessThanOrEqual((8 + 2) * 32 + 1);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
  }, 300_000);

  it("skips and counts payloads over maxPayloadBytes before decoding them, and keeps going", async () => {
    const start = 1_700_000_000_000;
    const pipeline = new VirtualPipeline(`serverUrls: [${BROKER}]\nmaxPayloadBytes: 65536`, start);
    const plant = healthyPlant();
    for (const p of plant.births(start)) pipeline.send(p.topic, p.payload, start);
    const outputs = pipeline.send("spBv1.0/Control/DDATA/Healthy/D1", Buffer.alloc(65537), start + 1);
    const rejected = (batch: EngineOutput[]) =>
      batch.flatMap((o) => o.report.filter((e) => e.kind === "payload-too-large").map((e) => e.fields));
    expect(rejected(outputs)).toStrictEqual([
      { topic: "spBv1.0/Control/DDATA/Healthy/D1", bytes: 65537, limit: 65536 },
    ]);
    // Exactly at the limit is decoded (and, being zeroes, malformed).
    const atLimit = pipeline.send("spBv1.0/Control/DDATA/Healthy/D1", Buffer.alloc(65536, 0xff), start + 2);
    expect(rejected(atLimit)).toStrictEqual([]);
    pipeline.drain(start + 10_000);
    expect(await pipeline.counter("akri_mqtt_messages_rejected_total")).toBe(1);
    expect(pipeline.lastList).toHaveLength(3);
  });
});

describe.skipIf(!mosquittoAvailable())("hostile traffic through Mosquitto into akri-mqtt serve", () => {
  let broker: Mosquitto;
  let handler: HandlerProcess;
  let agent: TestAgent;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    const directory = await mkdtemp(join(tmpdir(), "akri-hostile-"));
    agent = new TestAgent(directory);
    await agent.start();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-h" });
  });

  afterAll(async () => {
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    await handler?.stop();
    await agent?.stop();
    await broker?.stop();
  });

  const connect = async (clientId: string, will?: { topic: string; payload: Uint8Array }) => {
    const client = await mqtt.connectAsync(broker.url, {
      clientId,
      reconnectPeriod: 0,
      ...(will
        ? { will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1 as const, retain: false } }
        : {}),
    });
    clients.push(client);
    return client;
  };

  it("20,000 fuzzed messages, 10 MB payloads and deep templates: the handler stays up, counts them, keeps the healthy devices", async () => {
    const registered = await agent.waitForRegistrations(1);
    const call = agent.discover(
      registered,
      `serverUrls: [${broker.url}]\nmaxPayloadBytes: 6291456\nsparkplug: {rebirth: {maxPerSecond: 5}}`,
    );
    const plant = healthyPlant();
    const edge = await connect("healthy-edge", plant.will(Date.now()));
    // The first list means the handler is connected and subscribed.
    await eventually(() => call.lists.length > 0, "the first list");
    for (const p of plant.births(Date.now())) await edge.publishAsync(p.topic, Buffer.from(p.payload));
    const healthy = [
      "spBv1.0/Control/Healthy/D0",
      "spBv1.0/Control/Healthy/D1",
      "spBv1.0/Control/Healthy/D2",
    ];
    await call.waitForIds(healthy, "the healthy plant");

    const attacker = await connect("fuzzer");
    const fuzzer = await Fuzzer.create(seededRandom(99));
    for (let i = 0; i < 20_000; i++) {
      const message = fuzzer.next();
      attacker.publish(message.topic, message.payload, { qos: 0 });
      if (i % 500 === 0) await attacker.publishAsync("spBv1.0/FG0/NBIRTH/FE0", Buffer.alloc(0), { qos: 1 });
    }
    const big = randomBuffer(10 * 1024 * 1024, seededRandom(4));
    for (const topic of [
      "spBv1.0/FG1/NBIRTH/FE1",
      "spBv1.0/Control/DDATA/Healthy/D0",
      "spBv1.0/FG2/DBIRTH/FE2/FD2",
    ])
      await attacker.publishAsync(topic, big, { qos: 1 });
    // Beyond twice the limit the broker does not even send it (MQTT 5 Maximum Packet Size).
    await attacker.publishAsync("spBv1.0/FG1/NBIRTH/FE9", randomBuffer(13 * 1024 * 1024, seededRandom(6)), {
      qos: 1,
    });
    await attacker.publishAsync("spBv1.0/FG3/NBIRTH/FE3", deepTemplate(5000), { qos: 1 });
    await attacker.publishAsync("spBv1.0/FG3/NBIRTH/FE4", invalidUtf8Names(), { qos: 1 });
    // The healthy node goes on publishing through all of it.
    for (let i = 0; i < 5; i++) {
      const data = plant.ddata("D1", { Level: i }, Date.now());
      await edge.publishAsync(data.topic, Buffer.from(data.payload), { qos: 1 });
    }

    await eventually(
      async () => ((await handler.metric("akri_mqtt_messages_rejected_total")) ?? 0) >= 3,
      "the three 10 MB payloads counted as too large",
      20_000,
    );
    expect(handler.exitCode).toBeUndefined();
    expect(await handler.metric("akri_mqtt_messages_rejected_total")).toBe(3);
    expect(handler.output).not.toMatch(/spBv1\.0\/FG1\/NBIRTH\/FE9/);
    expect((await handler.get("/healthz")).status).toBe(200);
    expect(await handler.metric("akri_mqtt_decode_errors_total")).toBeGreaterThan(1000);
    expect(call.ids().filter((id) => id.startsWith("spBv1.0/Control/"))).toStrictEqual(healthy);
    expect(call.error).toBeUndefined();
    // Every bad message is counted; the log names them, a few per kind, then says how many it left out.
    expect(handler.output).toMatch(/"event":"decode-error","topic":"spBv1\.0\/FG/);
    expect(handler.output).toMatch(
      /"event":"payload-too-large","topic":"spBv1\.0\/Control\/DDATA\/Healthy\/D0","bytes":10485760,"limit":6291456/,
    );
    await eventually(
      () => /more decode-error events not logged/.test(handler.output),
      "a line summing up the decode errors it did not log",
      15_000,
    );
    const rss = await handler.metric("akri_mqtt_process_resident_memory_bytes");
    expect(rss).toBeLessThan(400 * 1024 * 1024);
    call.cancel();
  }, 90_000);
});
