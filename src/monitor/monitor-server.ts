import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostAllowed } from "../http/host-header.js";
import { log } from "../log.js";
import type { DeviceChange, DeviceView } from "./device-view.js";
import { MONITOR_FILES } from "./monitor-page.js";

/*
 * The monitor's HTTP side: GET / (the device's live page), GET /state (JSON), GET /metrics
 * (Prometheus), GET /events (Server-Sent Events: the state, then every change), GET
 * /healthz, and POST /command (only when enabled; JSON only, so a page of another origin
 * cannot send one without a CORS preflight, which is never granted).
 */

export interface CommandReply {
  status: number;
  body: unknown;
}

export interface MonitorServerSources {
  view: DeviceView;
  metrics: () => Promise<string>;
  metricsContentType: string;
  /** Absent: commands are disabled. */
  command: ((body: unknown) => Promise<CommandReply>) | undefined;
  /** When set, a command needs `Authorization: Bearer <token>`. */
  commandToken?: string | undefined;
  /** Extra host names a command may be addressed to. */
  allowedHosts?: readonly string[];
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const MAX_BODY = 64 * 1024;
/** An event stream client this far behind is dropped (it reconnects and gets a fresh state). */
const MAX_BACKLOG = 1024 * 1024;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export class MonitorServer {
  /** Open event streams and how to close each. */
  private readonly streams = new Map<ServerResponse, () => void>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number, sources: MonitorServerSources): Promise<MonitorServer> {
    let instance: MonitorServer | undefined;
    const server = createServer((req, res) => {
      instance!.handle(req, res, sources).catch((e: Error) => {
        log.error({ err: e.message, path: req.url }, "monitor request failed");
        if (!res.headersSent) json(res, 500, { error: e.message });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === "object" && address ? address.port : port;
    instance = new MonitorServer(server, bound);
    log.info(
      { url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}` },
      "device monitor: / (page), /state, /metrics, /events",
    );
    return instance;
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    sources: MonitorServerSources,
  ): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/command") {
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST" }).end();
        return;
      }
      if (!sources.command) {
        json(res, 403, {
          error:
            "commands are disabled: the Configuration must enable them (MONITOR_ALLOW_COMMANDS=true in brokerProperties or the pod spec)",
        });
        return;
      }
      // Only from this host's own pages or from non-browser clients, to a name of ours.
      const origin = req.headers.origin;
      if (origin !== undefined) {
        let originHost: string | undefined;
        try {
          originHost = new URL(origin).host;
        } catch {
          originHost = undefined;
        }
        if (originHost !== req.headers.host) {
          json(res, 403, { error: "commands from another origin are refused" });
          return;
        }
      }
      if (!hostAllowed(req.headers.host, sources.allowedHosts)) {
        json(res, 403, {
          error: `commands addressed to host ${JSON.stringify(req.headers.host ?? "")} are refused: use the Service name or an IP, or list the name in MONITOR_ALLOWED_HOSTS`,
        });
        return;
      }
      if (sources.commandToken !== undefined) {
        const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
        if (given === undefined || !sameToken(given, sources.commandToken)) {
          res.setHeader("www-authenticate", "Bearer");
          json(res, 401, {
            error: "this monitor wants Authorization: Bearer <MONITOR_COMMAND_TOKEN> for commands",
          });
          return;
        }
      }
      if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
        json(res, 415, { error: "send the command as application/json" });
        return;
      }
      const text = await readBody(req);
      if (text === undefined) {
        json(res, 413, { error: `the body is larger than ${MAX_BODY} bytes` });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        json(res, 400, { error: "the body is not JSON" });
        return;
      }
      const reply = await sources.command(body);
      json(res, reply.status, reply.body);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const file = MONITOR_FILES.get(path ?? "");
    if (file) {
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
      return;
    }
    switch (path) {
      case "/state":
        json(res, 200, sources.view.snapshot());
        return;
      case "/healthz":
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        return;
      case "/metrics":
        res.writeHead(200, { "content-type": sources.metricsContentType }).end(await sources.metrics());
        return;
      case "/events":
        this.openStream(req, res, sources.view);
        return;
      default:
        res
          .writeHead(404, { "content-type": "text/plain" })
          .end("not found: try /, /state, /metrics, /events\n");
    }
  }

  private openStream(req: IncomingMessage, res: ServerResponse, view: DeviceView): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const send = (event: string, data: unknown) => {
      if (res.writableLength > MAX_BACKLOG) {
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write("retry: 2000\n\n");
    send("state", view.snapshot());
    const unsubscribe = view.onChange((change: DeviceChange) => {
      if (change.kind === "state") send("state", view.snapshot());
      else send(change.kind, change);
    });
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.streams.delete(res);
    };
    this.streams.set(res, close);
    res.on("error", close);
    req.on("close", close);
    res.on("close", close);
  }

  async stop(): Promise<void> {
    for (const [res, close] of [...this.streams]) {
      close();
      res.end();
    }
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
