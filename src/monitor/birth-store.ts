import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { log } from "../log.js";
import type { MqttMessage } from "../mqtt/message.js";
import { CERTIFICATES_PREFIX } from "../sparkplug/topic.js";
import type { MonitoredDevice } from "./monitor-config.js";

/*
 * The last NBIRTH and DBIRTH of the monitored device, kept on disk (an emptyDir survives
 * container restarts). 3.0 DATA carries only aliases: DATA that the broker queued in the
 * persistent session while the monitor was down can only be decoded with the birth it
 * came after, which was published before the monitor stopped. At start the saved births
 * go into the host session as birth certificates: they teach the tables, not liveness.
 */

interface Saved {
  device: string;
  births: Record<string, { topic: string; payload: string; at: number }>;
}

type SparkplugDevice = Extract<MonitoredDevice, { mode: "sparkplug" }>;

export class BirthStore {
  private readonly path: string;
  private births: Saved["births"] = {};
  private writing: Promise<void> = Promise.resolve();

  constructor(
    directory: string,
    private readonly device: SparkplugDevice,
  ) {
    this.path = join(directory, "births.json");
  }

  /** The saved births as certificate messages, oldest first; nothing if none or unreadable. */
  async load(): Promise<MqttMessage[]> {
    let saved: Saved;
    try {
      saved = JSON.parse(await readFile(this.path, "utf8")) as Saved;
    } catch {
      return [];
    }
    // A damaged or foreign file is ignored: the birth comes again live or by a rebirth request.
    if (typeof saved !== "object" || saved === null || saved.device !== this.device.id) return [];
    if (typeof saved.births !== "object" || saved.births === null) return [];
    const births = Object.entries(saved.births).filter(
      ([verb, b]) =>
        (verb === "NBIRTH" || verb === "DBIRTH") &&
        typeof b === "object" &&
        b !== null &&
        typeof b.topic === "string" &&
        typeof b.payload === "string" &&
        typeof b.at === "number",
    );
    this.births = Object.fromEntries(births);
    return births
      .map(([, b]) => b)
      .sort((a, b) => a.at - b.at)
      .map((b) => ({
        topic: `${CERTIFICATES_PREFIX}${b.topic}`,
        payload: Buffer.from(b.payload, "base64"),
        qos: 1,
        retain: true,
        at: b.at,
        broker: "saved",
      }));
  }

  /** Saves a live birth of the device (or of its node). */
  save(verb: "NBIRTH" | "DBIRTH", topic: string, payload: Uint8Array, at: number): void {
    this.births[verb] = { topic, payload: Buffer.from(payload).toString("base64"), at };
    const content = `${JSON.stringify({ device: this.device.id, births: this.births } satisfies Saved)}\n`;
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(join(this.path, ".."), { recursive: true });
        const temporary = `${this.path}.${process.pid}.tmp`;
        await writeFile(temporary, content);
        await rename(temporary, this.path);
      } catch (e) {
        log.warn({ path: this.path, err: (e as Error).message }, "cannot save the device's birth");
      }
    });
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.writing;
  }
}
