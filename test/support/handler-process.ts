import { type ChildProcess, spawn } from "node:child_process";
import { CLI, ROOT } from "./cli.js";
import { eventually } from "./live-host.js";

/** `akri-mqtt serve` as a real process, as a DaemonSet pod would run it. */
export class HandlerProcess {
  private log = "";
  httpPort: number | undefined;
  exitCode: number | null | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on("data", (d: Buffer) => {
      this.log += d.toString();
      const match = /"url":"http:\/\/[^"]*:(\d+)"/.exec(this.log);
      if (match && this.httpPort === undefined) this.httpPort = Number(match[1]);
    });
    child.stdout?.on("data", (d: Buffer) => {
      this.log += d.toString();
    });
    child.on("exit", (code) => {
      this.exitCode = code;
    });
  }

  get output(): string {
    return this.log;
  }

  /** The handler's HTTP address (its fleet page is at `${url}/`). */
  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  static async start(
    directory: string,
    env: NodeJS.ProcessEnv = {},
    args: string[] = [],
  ): Promise<HandlerProcess> {
    const child = spawn(
      process.execPath,
      [CLI, "serve", "--http-port", "0", "--http-host", "127.0.0.1", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DISCOVERY_HANDLERS_DIRECTORY: directory, LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const handler = new HandlerProcess(child);
    await eventually(
      () => handler.httpPort !== undefined || handler.exitCode !== undefined,
      "serve to start",
      10_000,
    ).catch((e) => {
      child.kill("SIGKILL"); // never leave it running behind a failed test
      throw e;
    });
    if (handler.exitCode !== undefined) throw new Error(`serve exited: ${handler.log}`);
    return handler;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const url = `http://127.0.0.1:${this.httpPort}${path}`;
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      // fetch reuses a kept-alive socket that the server may close at that very moment (its
      // keep-alive timeout): the request was never read, so asking again once is what any
      // HTTP client (a kubelet, Prometheus) does. A handler that is down fails again.
      if ((e as { cause?: { code?: string } }).cause?.code !== "ECONNRESET") throw e;
      response = await fetch(url);
    }
    return { status: response.status, body: await response.text() };
  }

  /** The value of one Prometheus sample, e.g. metric("akri_mqtt_broker_connections"). */
  async metric(name: string): Promise<number | undefined> {
    const { body } = await this.get("/metrics");
    const line = body.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.split(" ").at(-1));
  }

  /** Sends a signal (e.g. SIGUSR2 for a heap snapshot under --heapsnapshot-signal). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL, as a pod killed for running out of memory: no clean-up, the broker sends the Will. */
  async kill(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill("SIGKILL");
      await eventually(() => this.exitCode !== undefined, "serve to die", 10_000);
    }
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.child.kill("SIGTERM");
      await eventually(() => this.exitCode !== undefined, "serve to exit", 10_000);
    }
    return this.exitCode ?? null;
  }
}
