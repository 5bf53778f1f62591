import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listening } from "./broker-child.js";
import { freePort } from "./mosquitto.js";

/*
 * A real RabbitMQ with its MQTT plugin (Debian 12's rabbitmq-server is 3.10, which cannot
 * parse an MQTT 5 CONNECT and hangs up without a CONNACK), run in the foreground as the
 * test's own user with everything of its own: a unique node name, free ports for MQTT, the
 * Erlang distribution and epmd (an epmd the test starts, so none is left behind), and a
 * temporary directory for its config, database, logs and Erlang cookie. It never meets a
 * system RabbitMQ. Tests that need it use `rabbitMqAvailable()`: under CI=true a missing
 * server fails the run (.ci/run installs it); elsewhere those tests are skipped.
 */

const SERVERS = ["/usr/lib/rabbitmq/bin/rabbitmq-server"];
const EPMDS = ["/usr/bin/epmd", "/usr/lib/erlang/bin/epmd"];

function firstExisting(paths: string[], override: string | undefined): string | undefined {
  if (override) return override;
  return paths.find((path) => existsSync(path));
}

/** The foreground start script (not /usr/sbin/rabbitmq-server, which switches to the rabbitmq user). */
function rabbitMqServer(): string | undefined {
  return firstExisting(SERVERS, process.env.RABBITMQ_SERVER_BIN);
}

/** True when the RabbitMQ tests must run: it is installed, or CI requires it (then missing is an error). */
export function rabbitMqAvailable(): boolean {
  const found = rabbitMqServer() !== undefined && firstExisting(EPMDS, undefined) !== undefined;
  if (!found && process.env.CI === "true") {
    throw new Error(
      "CI=true but rabbitmq-server is missing: .ci/run must install it (apt-get install -y rabbitmq-server)",
    );
  }
  return found;
}

export class RabbitMq {
  private log = "";
  private readonly exitHook = () => this.killNow();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly server: ChildProcess,
    private readonly epmd: ChildProcess,
  ) {
    const read = (d: Buffer) => {
      this.log += d.toString();
    };
    server.stdout?.on("data", read);
    server.stderr?.on("data", read);
    epmd.stderr?.on("data", read);
    // A test process that dies takes the broker with it.
    process.once("exit", this.exitHook);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** What the broker logged (warnings and errors), for assertions and failure messages. */
  get output(): string {
    return this.log;
  }

  /** Starts a broker and waits until its MQTT listener accepts connections (about 10 s). */
  static async start(timeoutMs = 60_000): Promise<RabbitMq> {
    const serverBin = rabbitMqServer();
    const epmdBin = firstExisting(EPMDS, undefined);
    if (!serverBin || !epmdBin) throw new Error("rabbitmq-server is not installed");
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-rabbitmq-"));
    const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    await writeFile(
      join(dir, "rabbitmq.conf"),
      [
        "listeners.tcp = none", // no AMQP: MQTT only
        `mqtt.listeners.tcp.default = 127.0.0.1:${port}`,
        // Anonymous MQTT clients log in as this user (created on first boot).
        "mqtt.allow_anonymous = true",
        "mqtt.default_user = guest",
        "mqtt.default_pass = guest",
        // Without it, the "." of spBv1.0 is an AMQP routing-key separator and Sparkplug topics break.
        "mqtt.sparkplug = true",
        "log.file = false",
        "log.console = true",
        "log.console.level = warning",
        "",
      ].join("\n"),
    );
    await writeFile(join(dir, "enabled_plugins"), "[rabbitmq_mqtt].\n");
    await writeFile(join(dir, "rabbitmq-env.conf"), "");
    // Our own epmd on a free port, in the foreground: RabbitMQ would otherwise start a daemon that outlives the test.
    const epmd = spawn(epmdBin, ["-port", String(epmdPort)], { stdio: ["ignore", "ignore", "pipe"] });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir, // the Erlang cookie
      LANG: "C.UTF-8",
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_NODENAME: `akri-mqtt-${randomBytes(4).toString("hex")}@localhost`,
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
      RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
      RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
      RABBITMQ_LOG_BASE: join(dir, "log"),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, "plugins-expand"),
      RABBITMQ_PID_FILE: join(dir, "rabbitmq.pid"),
    };
    // Its own process group, so that stop() can end the script and the Erlang VM it started.
    const server = spawn(serverBin, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const broker = new RabbitMq(port, dir, server, epmd);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (server.exitCode !== null || server.signalCode !== null)
          throw new Error(
            `rabbitmq-server exited with ${server.exitCode ?? server.signalCode}: ${broker.log}`,
          );
        if (await listening(port)) return broker;
        if (Date.now() > deadline)
          throw new Error(`RabbitMQ did not listen on ${port} within ${timeoutMs} ms: ${broker.log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (e) {
      await broker.stop();
      throw e;
    }
  }

  /** SIGTERM (the start script stops the VM cleanly), SIGKILL to its group after 15 s; then epmd and the files. */
  async stop(): Promise<void> {
    process.off("exit", this.exitHook);
    const server = this.server;
    if (server.exitCode === null && server.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.signalGroup("SIGKILL");
          resolve();
        }, 15_000);
        server.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        server.kill("SIGTERM");
      });
    }
    // Whatever of the group is left (the VM's helpers) goes too.
    this.signalGroup("SIGKILL");
    if (this.epmd.exitCode === null && this.epmd.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.epmd.once("exit", () => resolve());
        this.epmd.kill("SIGTERM");
      });
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      if (this.server.pid !== undefined) process.kill(-this.server.pid, signal);
    } catch {
      // already gone
    }
  }

  private killNow(): void {
    this.signalGroup("SIGKILL");
    this.epmd.kill("SIGKILL");
  }
}
