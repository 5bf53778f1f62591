import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerChild, TempDirBroker } from "./broker-child.js";
import { freePort } from "./mosquitto.js";

/*
 * A real NATS server 2.9 (Debian 12's `nats-server`) with MQTT enabled, on free loopback
 * ports, its JetStream store (which MQTT needs: sessions, retained messages, QoS 1) in a
 * temporary directory. It refuses MQTT 5 with a CONNACK (return code 1), and rejects any
 * topic with a "." (a NATS subject separator): Sparkplug's spBv1.0/… cannot work on it.
 *
 * Tests that need it use `natsAvailable()`: under CI=true a missing server fails the run
 * (.ci/run installs it); elsewhere those tests are skipped.
 */

const SERVERS = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];

function natsServer(): string | undefined {
  return process.env.NATS_SERVER_BIN ?? SERVERS.find((path) => existsSync(path));
}

/** True when the NATS tests must run: it is installed, or CI requires it (then missing is an error). */
export function natsAvailable(): boolean {
  const found = natsServer() !== undefined;
  if (!found && process.env.CI === "true")
    throw new Error(
      "CI=true but nats-server is missing: .ci/run must install it (apt-get install -y nats-server)",
    );
  return found;
}

export class NatsServer extends TempDirBroker {
  /** Starts a server and waits until its MQTT listener accepts connections (well under a second). */
  static async start(): Promise<NatsServer> {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-nats-"));
    const [port, clientPort] = [await freePort(), await freePort()];
    await writeFile(
      join(dir, "nats.conf"),
      [
        `listen: 127.0.0.1:${clientPort}`, // its own NATS port, never the default 4222
        "server_name: akri-mqtt-test", // MQTT requires JetStream, and JetStream a server name
        `jetstream { store_dir: ${JSON.stringify(join(dir, "jetstream"))} }`,
        `mqtt { listen: 127.0.0.1:${port} }`,
        "",
      ].join("\n"),
    );
    const server = new NatsServer(port, dir);
    await server.boot();
    return server;
  }

  protected launch(): Promise<BrokerChild> {
    const binary = natsServer();
    if (!binary) return Promise.reject(new Error("nats-server is not installed"));
    return BrokerChild.launch({
      name: "nats-server",
      command: binary,
      args: ["-c", join(this.dir, "nats.conf")],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      cwd: this.dir,
      port: this.port,
      timeoutMs: 20_000,
    });
  }
}
