import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * A real Mosquitto broker for tests, on a free loopback port with its own config.
 * Tests that need it use `describeWithMosquitto`: under CI=true a missing binary fails
 * the run (it must have been installed by .ci/run); elsewhere those tests are skipped.
 */

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"];

export function mosquittoBinary(): string | undefined {
  if (process.env.MOSQUITTO_BIN) return process.env.MOSQUITTO_BIN;
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = join(dir, "mosquitto");
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

/** True when the Mosquitto tests must run: the binary exists, or CI requires it (then missing is an error). */
export function mosquittoAvailable(): boolean {
  const found = mosquittoBinary() !== undefined;
  if (!found && process.env.CI === "true") {
    throw new Error(
      "CI=true but the mosquitto binary is missing: .ci/run must install it (apt-get install -y mosquitto)",
    );
  }
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoOptions {
  /** Extra mosquitto.conf lines (listener and defaults are written for you). */
  extraConfig?: string[];
  port?: number;
  /** Let clients in without a user name (default true). */
  anonymous?: boolean;
  /** Serve TLS (PEM file paths); `requireCertificate` asks clients for theirs (mutual TLS). */
  tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean };
}

export class Mosquitto {
  private process: ChildProcess | undefined;
  private log = "";

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly configPath: string,
    private readonly scheme: "mqtt" | "mqtts" = "mqtt",
  ) {}

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Everything the broker logged, for failure messages. */
  get output(): string {
    return this.log;
  }

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const binary = mosquittoBinary();
    if (!binary) throw new Error("mosquitto is not installed");
    const port = options.port ?? (await freePort());
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-mosquitto-"));
    const configPath = join(dir, "mosquitto.conf");
    const config = [
      `listener ${port} 127.0.0.1`,
      ...(options.tls
        ? [
            `cafile ${options.tls.cafile}`,
            `certfile ${options.tls.certfile}`,
            `keyfile ${options.tls.keyfile}`,
            `require_certificate ${options.tls.requireCertificate ? "true" : "false"}`,
          ]
        : []),
      `allow_anonymous ${options.anonymous === false ? "false" : "true"}`,
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "max_queued_messages 100000",
      ...(options.extraConfig ?? []),
    ];
    await writeFile(configPath, `${config.join("\n")}\n`);
    const broker = new Mosquitto(port, dir, configPath, options.tls ? "mqtts" : "mqtt");
    await broker.launch();
    return broker;
  }

  private async launch(): Promise<void> {
    const binary = mosquittoBinary()!;
    const child = spawn(binary, ["-c", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => {
      this.log += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.log += d.toString();
    });
    this.process = child;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`mosquitto exited with ${code}: ${this.log}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(this.port, 10_000), exited]);
  }

  /** Kills the broker abruptly (SIGKILL): no Wills are sent, connections just drop. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** Starts it again on the same port after `kill` or `stop`. */
  async restart(): Promise<void> {
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
    await rm(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
    this.process = undefined;
  }
}
