import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { Registered } from "./akri-agent.js";
import { ROOT } from "./cli.js";
import { eventually } from "./live-host.js";

/** What the agent process says about one request (Configuration). */
export interface RequestView {
  configuration: string;
  /** Discover streams ever opened for it. */
  streams: number;
  open: number;
  /** Times the agent re-created it after the handler ended its last stream. */
  requeries: number;
  ids: string[];
}

/**
 * The test agent (akri-agent.ts) in a process of its own, restartable as the real agent:
 * `kill` is SIGKILL (the socket stays behind) and a new `AgentProcess.start` on the same
 * directory removes it and binds the same path at once, as Akri's agent does on start-up.
 */
export class AgentProcess {
  readonly registrations: Registered[] = [];
  requests: RequestView[] = [];
  inode: number | undefined;
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    let pending = "";
    child.stdout?.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as { event: string } & Record<string, unknown>;
        if (event.event === "listening") this.inode = event.inode as number;
        if (event.event === "registered") {
          const { event: _, ...registered } = event;
          this.registrations.push(registered as unknown as Registered);
        }
        if (event.event === "requests") this.requests = event.requests as RequestView[];
      }
    });
    child.stderr?.on("data", (d: Buffer) => process.stderr.write(d));
    child.on("exit", () => {
      this.exited = true;
    });
  }

  static async start(directory: string): Promise<AgentProcess> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "test/support/agent-main.ts"), directory],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    const agent = new AgentProcess(child);
    await eventually(() => agent.inode !== undefined || agent.exited, "the agent to listen", 15_000).catch(
      (e) => {
        child.kill("SIGKILL");
        throw e;
      },
    );
    if (agent.exited) throw new Error("the agent process exited at start");
    return agent;
  }

  /** A Configuration applied (the agent queries every registered endpoint of mqtt). */
  apply(configuration: string, details: string): void {
    this.child.stdin?.write(`${JSON.stringify({ apply: configuration, details })}\n`);
  }

  /** A Configuration deleted: its streams are cancelled. */
  delete(configuration: string): void {
    this.child.stdin?.write(`${JSON.stringify({ delete: configuration })}\n`);
  }

  request(configuration: string): RequestView | undefined {
    return this.requests.find((r) => r.configuration === configuration);
  }

  /** Dies as a crashed or evicted agent does: no clean-up, its socket left behind. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGKILL");
    await eventually(() => this.exited, "the agent process to die");
  }
}
