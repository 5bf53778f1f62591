import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../src/paths.js";

/** The package root (also from a compiled copy, e.g. dist-bench/test/support). */
export const ROOT = packageRoot(import.meta.url);
/** The built CLI (npm test builds it first). */
export const CLI = join(ROOT, "dist", "cli.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `akri-mqtt <args>` as a user would, to completion. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it first)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `akri-mqtt ${args.join(" ")} did not finish in ${options.timeoutMs ?? 20000} ms\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses JSON Lines output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A long-running `akri-mqtt <args>`: its output so far, and a way to stop it. */
export class CliProcess {
  stdout = "";
  stderr = "";
  private readonly child: ReturnType<typeof spawn>;
  private readonly closed: Promise<void>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it first)`);
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.closed = new Promise<void>((resolve) => this.child.once("close", () => resolve()));
  }

  /** Its exit code, once it has exited. */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** Waits for it to end on its own, and for the last of its output ("close" comes after both). */
  exited(): Promise<void> {
    return this.closed;
  }

  /** SIGTERM, then wait for the exit and the last of its output ("close" comes after both). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once("close", () => resolve());
      this.child.kill(signal);
    });
  }
}
