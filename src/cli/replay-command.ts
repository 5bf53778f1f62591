import { access } from "node:fs/promises";
import mqtt from "mqtt";
import { log } from "../log.js";
import { redactUrl } from "../mqtt/connect-hints.js";
import { credentialOptions, credentialsFromEnvironment } from "../mqtt/credentials.js";
import { readFixture } from "../streams/fixture-file.js";
import { UsageError } from "./usage-error.js";

export interface ReplayOptions {
  broker: string;
  speed?: string;
  asFastAsPossible?: boolean;
  loop?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `akri-mqtt replay FIXTURE --broker URL [--speed N | --as-fast-as-possible] [--loop]` */
export async function replayCommand(fixture: string, options: ReplayOptions): Promise<void> {
  const speed = options.speed === undefined ? 1 : Number(options.speed);
  if (!(speed > 0)) throw new UsageError(`--speed must be a positive number, got "${options.speed}"`);
  if (options.speed !== undefined && options.asFastAsPossible) {
    throw new UsageError("give either --speed or --as-fast-as-possible, not both");
  }
  try {
    await access(fixture);
  } catch {
    throw new UsageError(`FIXTURE ${fixture} cannot be read`);
  }
  const credentials = credentialsFromEnvironment();
  if (!credentials.ok) throw new UsageError(credentials.error);
  const broker = redactUrl(options.broker);
  const client = mqtt.connect(options.broker, {
    ...credentialOptions(credentials.credentials),
    clientId: `akri-mqtt-replay-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
  });
  client.on("error", (err) => log.warn({ broker, err: err.message }, "broker connection error"));
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const progress = process.stderr.isTTY;
  let total = 0;
  try {
    do {
      let first: number | undefined;
      const started = Date.now();
      for await (const entry of readFixture(fixture)) {
        if (stopped) break;
        if (entry.kind === "error") {
          log.warn({ fixture }, entry.error);
          continue;
        }
        const m = entry.message;
        first ??= m.at;
        if (!options.asFastAsPossible) {
          const due = started + (m.at - first) / speed;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
        }
        await client.publishAsync(m.topic, Buffer.from(m.payload), { qos: m.qos, retain: m.retain });
        total++;
        if (progress && total % 100 === 0) process.stderr.write(`\rreplayed ${total} message(s)`);
      }
    } while (options.loop && !stopped);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await client.endAsync();
  }
  process.stderr.write(`${progress ? "\r" : ""}replayed ${total} message(s) into ${broker}\n`);
}
