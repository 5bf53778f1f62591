import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";

/*
 * Another machine on the network, for real: a Linux network namespace joined to ours by a
 * veth pair (10.222.x.y+1/30 on our side, y+2 inside), so that a client run in it
 * (`ip netns exec <ns> node …`) reaches our sockets from a non-loopback address, as another
 * pod reaches a handler pod's IP. Names and addresses are unique per run; `destroy` (and,
 * should a test die first, process exit) removes the namespace, and with it both ends of
 * the pair. Needs iproute2 and root (or sudo without a password). Under CI=true a machine
 * without them fails the tests that need it; elsewhere they are skipped.
 */

const run = promisify(execFile);

/** `ip`, through sudo when we are not root (`-n`: never wait for a password). */
function ipCommand(): string[] {
  if (process.getuid?.() === 0) return ["ip"];
  return ["sudo", "-n", "ip"];
}

async function ip(...args: string[]): Promise<string> {
  const [command, ...prefix] = ipCommand();
  const { stdout } = await run(command!, [...prefix, ...args]);
  return stdout;
}

function ipSync(...args: string[]): { ok: boolean; output: string } {
  const [command, ...prefix] = ipCommand();
  const result = spawnSync(command!, [...prefix, ...args], { encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stderr ?? ""}${result.error?.message ?? ""}`.trim() };
}

let probed: boolean | undefined;

/** True when network namespaces can be made here (tried once, for real); under CI=true, false is an error. */
export function netnsAvailable(): boolean {
  if (probed === undefined) {
    const name = `akm-probe-${process.pid}`;
    const added = ipSync("netns", "add", name);
    if (added.ok) ipSync("netns", "delete", name);
    probed = added.ok;
    if (!probed && process.env.CI === "true")
      throw new Error(
        `CI=true but network namespaces cannot be made (${added.output || "no ip command"}): .ci/run must install iproute2 and run as root`,
      );
  }
  return probed;
}

/** What a request answered. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A GET with node:http (fetch does not let a caller choose the Host header), read to the
 * end; of an event stream, only the status and headers. Run in-process for loopback
 * clients and, as the same source, by `node -e` inside a namespace.
 */
const REQUEST_SCRIPT = `
const http = require("node:http");
const [url, headersJson] = process.argv.slice(1);
const request = http.get(url, { headers: JSON.parse(headersJson) }, (res) => {
  let body = "";
  res.setEncoding("utf8");
  const done = () => {
    process.stdout.write(JSON.stringify({ status: res.statusCode, headers: res.headers, body }));
    process.exit(0);
  };
  // An event stream never ends: its status and headers are the answer.
  if (/^text\\/event-stream/.test(res.headers["content-type"] || "")) done();
  res.on("data", (chunk) => {
    body += chunk;
  });
  res.on("end", done);
});
request.on("error", (e) => {
  process.stderr.write(e.message);
  process.exit(1);
});
`;

/** The same request from the test's own network namespace (its loopback, or any address of this host). */
export async function hostGet(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { stdout } = await run(process.execPath, ["-e", REQUEST_SCRIPT, url, JSON.stringify(headers)]);
  return JSON.parse(stdout) as Answer;
}

/**
 * An event stream read from inside a namespace: the status line and headers, then every
 * `data:` line, as they come.
 */
export class RemoteEventStream {
  status: number | undefined;
  headers: Record<string, string | string[] | undefined> = {};
  readonly events: unknown[] = [];
  private pending = "";

  constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      this.pending += chunk;
      let newline = this.pending.indexOf("\n");
      while (newline >= 0) {
        const line = JSON.parse(this.pending.slice(0, newline)) as {
          status?: number;
          headers?: Record<string, string>;
          data?: string;
        };
        this.pending = this.pending.slice(newline + 1);
        if (line.status !== undefined) {
          this.status = line.status;
          this.headers = line.headers ?? {};
        } else if (line.data !== undefined) this.events.push(JSON.parse(line.data));
        newline = this.pending.indexOf("\n");
      }
    });
  }

  close(): void {
    this.child.kill("SIGKILL");
  }
}

const STREAM_SCRIPT = `
const http = require("node:http");
http.get(process.argv[1], (res) => {
  process.stdout.write(JSON.stringify({ status: res.statusCode, headers: res.headers }) + "\\n");
  let pending = "";
  res.setEncoding("utf8");
  res.on("data", (chunk) => {
    pending += chunk;
    const lines = pending.split("\\n");
    pending = lines.pop();
    for (const line of lines)
      if (line.startsWith("data: ")) process.stdout.write(JSON.stringify({ data: line.slice(6) }) + "\\n");
  });
});
`;

export class NetworkNamespace {
  private destroyed = false;
  private readonly cleanUp = () => {
    ipSync("netns", "delete", this.name);
  };

  private constructor(
    readonly name: string,
    /** Our end of the pair: where a client in the namespace reaches us. */
    readonly hostAddress: string,
    /** The namespace's own address: where its clients come from. */
    readonly address: string,
  ) {
    process.once("exit", this.cleanUp);
  }

  /** A namespace with a veth pair to ours, on a /30 no interface here uses yet. */
  static async create(): Promise<NetworkNamespace> {
    const used = await ip("-o", "-4", "addr", "show");
    let x = 0;
    let y = 0;
    do {
      x = randomInt(0, 256);
      y = randomInt(0, 64) * 4;
    } while (used.includes(`10.222.${x}.${y + 1}/`) || used.includes(`10.222.${x}.${y + 2}/`));
    const id = randomBytes(4).toString("hex");
    // Interface names are at most 15 characters.
    const name = `akm-${id}`;
    const outside = `akmh${id}`;
    const inside = `akmn${id}`;
    const namespace = new NetworkNamespace(name, `10.222.${x}.${y + 1}`, `10.222.${x}.${y + 2}`);
    try {
      await ip("netns", "add", name);
      await ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      await ip("link", "set", inside, "netns", name);
      await ip("addr", "add", `${namespace.hostAddress}/30`, "dev", outside);
      await ip("link", "set", outside, "up");
      await ip("-n", name, "addr", "add", `${namespace.address}/30`, "dev", inside);
      await ip("-n", name, "link", "set", inside, "up");
      await ip("-n", name, "link", "set", "lo", "up");
    } catch (e) {
      await ip("link", "delete", outside).catch(() => undefined);
      await namespace.destroy();
      throw e;
    }
    return namespace;
  }

  /** A GET from inside the namespace. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
    const [command, ...prefix] = ipCommand();
    const { stdout } = await run(command!, [
      ...prefix,
      "netns",
      "exec",
      this.name,
      process.execPath,
      "-e",
      REQUEST_SCRIPT,
      url,
      JSON.stringify(headers),
    ]);
    return JSON.parse(stdout) as Answer;
  }

  /** An event stream opened from inside the namespace, read until `close`. */
  events(url: string): RemoteEventStream {
    const [command, ...prefix] = ipCommand();
    const child = spawn(
      command!,
      [...prefix, "netns", "exec", this.name, process.execPath, "-e", STREAM_SCRIPT, url],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return new RemoteEventStream(child);
  }

  /** Removes the namespace; its end of the pair goes with it, and so does ours. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener("exit", this.cleanUp);
    await ip("netns", "delete", this.name);
  }
}
