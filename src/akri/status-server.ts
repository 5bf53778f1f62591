import { createServer, type Server } from "node:http";
import { log } from "../log.js";

/*
 * The handler's HTTP side: GET /healthz (200 once registered with the agent, else 503),
 * GET /metrics (Prometheus), GET /devices (JSON inventory). Read-only: every other method
 * or path is refused.
 */

export interface StatusSources {
  ready: () => { ok: boolean; detail: string };
  metrics: () => Promise<string>;
  metricsContentType: string;
  devices: () => unknown;
}

export class StatusServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
  ) {}

  static async start(host: string, port: number, sources: StatusSources): Promise<StatusServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("read-only\n");
        return;
      }
      if (path === "/healthz") {
        const { ok, detail } = sources.ready();
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(`${detail}\n`);
        return;
      }
      if (path === "/metrics") {
        sources
          .metrics()
          .then((text) => res.writeHead(200, { "content-type": sources.metricsContentType }).end(text))
          .catch((e: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${e.message}\n`));
        return;
      }
      if (path === "/devices") {
        const body = JSON.stringify(sources.devices(), null, 2);
        res.writeHead(200, { "content-type": "application/json" }).end(`${body}\n`);
        return;
      }
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /healthz, /metrics, /devices\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === "object" && address ? address.port : port;
    log.info(
      { url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}` },
      "HTTP status endpoints (/healthz, /metrics, /devices)",
    );
    return new StatusServer(server, bound, host);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
