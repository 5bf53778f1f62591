import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { createConnection } from "node:net";

/*
 * A broker the test runs as its own child process (never a daemon, never a system service):
 * started in the foreground, waited for until its MQTT port accepts connections, stopped
 * with SIGTERM (SIGKILL after a grace period), and killed with the test process should that
 * die first. What it prints is kept for assertions and failure messages.
 */

/** Does something accept TCP connections on this loopback port? */
export async function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface BrokerLaunch {
  /** What to call it in errors. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The port whose listener means "ready". */
  port: number;
  timeoutMs: number;
}

export class BrokerChild {
  private log = "";
  private readonly exitHook = () => this.child.kill("SIGKILL");

  private constructor(private readonly child: ChildProcess) {
    const read = (d: Buffer) => {
      this.log += d.toString();
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    process.once("exit", this.exitHook);
  }

  /** Starts it and resolves once its port listens; rejects (with its output) if it exits or is slow. */
  static async launch(launch: BrokerLaunch): Promise<BrokerChild> {
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const broker = new BrokerChild(child);
    const deadline = Date.now() + launch.timeoutMs;
    try {
      for (;;) {
        if (!broker.running)
          throw new Error(`${launch.name} exited with ${child.exitCode ?? child.signalCode}: ${broker.log}`);
        if (await listening(launch.port)) return broker;
        if (Date.now() > deadline)
          throw new Error(
            `${launch.name} did not listen on ${launch.port} within ${launch.timeoutMs} ms: ${broker.log}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (e) {
      await broker.stop("SIGKILL");
      throw e;
    }
  }

  get output(): string {
    return this.log;
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ends it: SIGTERM lets it close its store and connections (Wills go out); SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<void> {
    process.off("exit", this.exitHook);
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      this.child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill(signal);
    });
  }
}

/**
 * A broker of the test's own in a temporary directory, on a loopback port: restarted on the
 * same port and files (its store and sessions survive, as a plant's broker's would), and its
 * directory removed when stopped.
 */
export abstract class TempDirBroker {
  protected child: BrokerChild | undefined;
  /** Output of earlier runs (before a restart). */
  private earlier = "";

  protected constructor(
    readonly port: number,
    protected readonly dir: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Everything the broker logged, across restarts, for assertions and failure messages. */
  get output(): string {
    return this.earlier + (this.child?.output ?? "");
  }

  /** Starts the broker's process (its config already written into `dir`). */
  protected abstract launch(): Promise<BrokerChild>;

  /** The first start: the directory goes if the broker does not come up. */
  protected async boot(): Promise<void> {
    try {
      this.child = await this.launch();
    } catch (e) {
      await rm(this.dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A crash and a restart on the same port and store: SIGKILL (no Will goes out), then start again. */
  async restart(): Promise<void> {
    await this.child?.stop("SIGKILL");
    this.earlier += this.child?.output ?? "";
    this.child = undefined;
    this.child = await this.launch();
  }

  async stop(): Promise<void> {
    await this.child?.stop();
    this.child = undefined;
    await rm(this.dir, { recursive: true, force: true });
  }
}
