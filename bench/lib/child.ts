import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/*
 * Benchmark helpers run in their own processes (publishers, consumers), so that the
 * process measured is not also the one producing the load. They talk over stdin/stdout
 * in JSON lines.
 */

export class Child {
  private readonly lines: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly process: ChildProcess) {
    if (process.stdout) {
      createInterface({ input: process.stdout }).on("line", (line) => {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          return;
        }
        for (const w of this.waiters.splice(0)) w();
      });
    }
    process.stderr?.on("data", (d: Buffer) => {
      if (globalThis.process.env.BENCH_DEBUG) globalThis.process.stderr.write(d);
    });
    this.exited = new Promise((resolve) => process.on("exit", (code) => resolve(code)));
  }

  /** Waits for the next line with `event`, and takes it. */
  async waitFor(event: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((l) => l.event === event);
      if (index >= 0) return this.lines.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`timed out waiting for "${event}" from a benchmark child`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  send(message: Record<string, unknown>): void {
    this.process.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  kill(): void {
    this.process.kill("SIGKILL");
  }
}

/** Runs a compiled benchmark helper (bench/lib/<name>.js) with JSON options. */
export function runHelper(name: string, options: Record<string, unknown>, nodeArgs: string[] = []): Child {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return new Child(
    spawn(process.execPath, [...nodeArgs, script, JSON.stringify(options)], {
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
}

/** In a helper: its options, a way to report, and a way to wait for orders. */
export function helperContext<T>(): {
  options: T;
  report(event: string, data?: Record<string, unknown>): void;
  orders(): AsyncIterable<Record<string, unknown>>;
} {
  const options = JSON.parse(process.argv[2] ?? "{}") as T;
  return {
    options,
    report(event, data = {}) {
      process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
    },
    async *orders() {
      for await (const line of createInterface({ input: process.stdin }))
        yield JSON.parse(line) as Record<string, unknown>;
    },
  };
}
