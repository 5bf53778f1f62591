import mqtt from "mqtt";
import { log } from "../log.js";
import { redactUrl } from "../mqtt/connect-hints.js";
import { credentialOptions, credentialsFromEnvironment } from "../mqtt/credentials.js";
import { FixtureWriter } from "../streams/fixture-file.js";
import { DEFAULT_INSPECT_TOPICS } from "./inspect-command.js";
import { durationSeconds, untilStopped } from "./until-stopped.js";
import { UsageError } from "./usage-error.js";

export interface RecordOptions {
  broker: string;
  topic?: string[];
  out: string;
  duration?: string;
}

/** `akri-mqtt record --broker URL [--topic FILTER…] --out FILE [--duration S]` */
export async function recordCommand(options: RecordOptions): Promise<void> {
  const seconds = durationSeconds(options.duration);
  const credentials = credentialsFromEnvironment();
  if (!credentials.ok) throw new UsageError(credentials.error);
  const filters = options.topic && options.topic.length > 0 ? options.topic : DEFAULT_INSPECT_TOPICS;
  const writer = FixtureWriter.create(options.out);
  const broker = redactUrl(options.broker);
  const client = mqtt.connect(options.broker, {
    ...credentialOptions(credentials.credentials),
    clientId: `akri-mqtt-record-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 1000,
  });
  let count = 0;
  let writing = Promise.resolve();
  client.on("connect", () => {
    client.subscribe(filters, { qos: 1 }, (err) => {
      if (err) log.error({ broker, filters, err: err.message }, "cannot subscribe");
      else log.info({ broker, filters, out: options.out }, "recording");
    });
  });
  client.on("error", (err) => log.warn({ broker, err: err.message }, "broker connection error"));
  client.on("message", (topic, payload, packet) => {
    count++;
    const message = { topic, payload, qos: packet.qos, retain: packet.retain, at: Date.now() };
    writing = writing.then(() => writer.write(message));
  });
  await untilStopped(seconds);
  await client.endAsync();
  await writing;
  await writer.close();
  process.stderr.write(`recorded ${count} message(s) to ${options.out}\n`);
}
