import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { deviceHash } from "../../src/discovery/device.js";
import type { DeviceSnapshot } from "../../src/monitor/device-view.js";
import { CLI, ROOT } from "./cli.js";
import { eventually } from "./live-host.js";

/**
 * The environment Akri's agent gives a broker pod for one instance: every property of the
 * device twice, as KEY and as KEY_<HASH> (the instance hash, upper-case).
 */
export function akriEnvironment(id: string, properties: Record<string, string>): Record<string, string> {
  const hash = deviceHash(id).toUpperCase();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    env[key] = value;
    env[`${key}_${hash}`] = value;
  }
  return env;
}

/** `akri-mqtt monitor` as the process a broker pod runs. */
export class MonitorProcess {
  private log = "";
  httpPort: number | undefined;
  exitCode: number | null | undefined;

  private constructor(private readonly child: ChildProcess) {
    const read = (d: Buffer) => {
      this.log += d.toString();
      const match = /"url":"http:\/\/[^"]*:(\d+)","msg":"device monitor/.exec(this.log);
      if (match && this.httpPort === undefined) this.httpPort = Number(match[1]);
    };
    child.stderr?.on("data", read);
    child.stdout?.on("data", read);
    child.on("exit", (code) => {
      this.exitCode = code;
    });
  }

  get output(): string {
    return this.log;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  static async start(env: Record<string, string>, args: string[] = []): Promise<MonitorProcess> {
    const child = spawn(
      process.execPath,
      [CLI, "monitor", "--http-port", "0", "--http-host", "127.0.0.1", ...args],
      {
        cwd: ROOT,
        // Only what a pod would have: no inherited MQTT_*/SPARKPLUG_* from the test's own environment.
        env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const monitor = new MonitorProcess(child);
    await eventually(
      () => monitor.httpPort !== undefined || monitor.exitCode !== undefined,
      "monitor to start",
      10_000,
    ).catch((e) => {
      child.kill("SIGKILL"); // never leave it running behind a failed test
      throw e;
    });
    if (monitor.exitCode !== undefined) throw new Error(`monitor exited: ${monitor.log}`);
    return monitor;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.url}${path}`);
    return { status: response.status, body: await response.text() };
  }

  async state(): Promise<DeviceSnapshot> {
    return JSON.parse((await this.get("/state")).body) as DeviceSnapshot;
  }

  async post(
    path: string,
    body: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.url}${path}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json().catch(() => undefined) };
  }

  /** A POST with full control of the headers (Host, Origin, Authorization). */
  async postWith(
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: this.httpPort, path, method: "POST", headers },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => {
            text += d.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  /** SIGKILL: gone without a DISCONNECT, so the broker publishes its Will. */
  async kill(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill("SIGKILL");
    await eventually(() => this.exitCode !== undefined, "monitor to die", 10_000);
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.child.kill("SIGTERM");
      await eventually(() => this.exitCode !== undefined, "monitor to exit", 10_000);
    }
    return this.exitCode ?? null;
  }
}

/** Reads Server-Sent Events from a URL until `stop` is called. */
export class EventStreamReader {
  readonly events: { event: string; data: unknown }[] = [];
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string) {
    this.done = this.read(url).catch(() => undefined);
  }

  private async read(url: string): Promise<void> {
    const response = await fetch(url, { signal: this.controller.signal });
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join("\n")) });
        end = buffer.indexOf("\n\n");
      }
    }
  }

  stop(): void {
    this.controller.abort();
  }
}
