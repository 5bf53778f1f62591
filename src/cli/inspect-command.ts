import { access } from "node:fs/promises";
import mqtt from "mqtt";
import { redactUrl } from "../mqtt/connect-hints.js";
import { credentialOptions, credentialsFromEnvironment } from "../mqtt/credentials.js";
import type { Json } from "../sparkplug/json.js";
import { readFixture } from "../streams/fixture-file.js";
import { Inspector } from "./inspector.js";
import { UsageError } from "./usage-error.js";

export interface InspectOptions {
  broker?: string;
  topic?: string[];
  reorderTimeout?: string;
}

/** Topics `inspect --broker` listens to by default: the namespace, 2.2 STATE and certificates. */
export const DEFAULT_INSPECT_TOPICS = ["spBv1.0/#", "STATE/+", "$sparkplug/certificates/#"];

function print(line: Json): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function parseReorderTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0)
    throw new UsageError(`--reorder-timeout must be a whole number of ms, got "${value}"`);
  return ms;
}

/** `akri-mqtt inspect FIXTURE | --broker URL [--topic FILTER]` */
export async function inspectCommand(fixture: string | undefined, options: InspectOptions): Promise<void> {
  const reorderTimeoutMs = parseReorderTimeout(options.reorderTimeout);
  const inspector = new Inspector(reorderTimeoutMs === undefined ? {} : { reorderTimeoutMs });
  if (fixture !== undefined && options.broker !== undefined) {
    throw new UsageError("give either a FIXTURE file or --broker, not both");
  }
  if (fixture !== undefined) return inspectFixture(inspector, fixture);
  if (options.broker !== undefined) return inspectBroker(inspector, options.broker, options.topic);
  throw new UsageError("give a FIXTURE file or --broker URL");
}

async function inspectFixture(inspector: Inspector, path: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new UsageError(`FIXTURE ${path} cannot be read`);
  }
  for await (const entry of readFixture(path)) {
    if (entry.kind === "error") {
      print({ line: entry.line, problems: [{ kind: "fixture-error", message: entry.error }] });
      continue;
    }
    for (const line of inspector.feed(entry.message)) print(line);
  }
  for (const line of inspector.finish()) print(line);
}

async function inspectBroker(inspector: Inspector, url: string, topics: string[] | undefined): Promise<void> {
  const filters = topics && topics.length > 0 ? topics : DEFAULT_INSPECT_TOPICS;
  const credentials = credentialsFromEnvironment();
  if (!credentials.ok) throw new UsageError(credentials.error);
  const client = mqtt.connect(url, {
    ...credentialOptions(credentials.credentials),
    clientId: `akri-mqtt-inspect-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 2000,
  });
  client.on("connect", () => {
    client.subscribe(filters, { qos: 0 }, (err) => {
      if (err) process.stderr.write(`inspect: cannot subscribe to ${filters.join(", ")}: ${err.message}\n`);
      else process.stderr.write(`inspect: listening to ${filters.join(", ")} on ${redactUrl(url)}\n`);
    });
  });
  client.on("error", (err) => process.stderr.write(`inspect: ${redactUrl(url)}: ${err.message}\n`));
  client.on("message", (topic, payload, packet) => {
    const message = { topic, payload, qos: packet.qos, retain: packet.retain, at: Date.now() };
    for (const line of inspector.feed(message)) print(line);
  });
  const timer = setInterval(() => {
    for (const line of inspector.tick(Date.now())) print(line);
  }, 100);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearInterval(timer);
      client.end(false, {}, () => resolve());
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
