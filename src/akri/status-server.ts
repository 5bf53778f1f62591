import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { log } from "../log.js";
import type { FleetEvent, FleetEvents } from "./fleet-events.js";
import { FLEET_CSP, FLEET_CSS, FLEET_HTML, FLEET_JS } from "./fleet-page.js";

/*
 * The handler's HTTP side: GET /healthz (200 once registered with the agent, else 503),
 * GET /metrics (Prometheus), GET /devices (JSON inventory; ?all=true adds what is seen but
 * not listed, with why), and the fleet page: / with its script and style, and GET /events
 * (Server-Sent Events of what the discoveries report). Read-only: every other method or
 * path is refused.
 */

export interface StatusSources {
  ready: () => { ok: boolean; detail: string };
  metrics: () => Promise<string>;
  metricsContentType: string;
  devices: (all: boolean) => unknown;
  /** The live feed of the fleet page; without it, /events is 404. */
  events?: FleetEvents;
}

const PAGE_FILES: Record<string, { type: string; body: string }> = {
  "/": { type: "text/html; charset=utf-8", body: FLEET_HTML },
  "/fleet.js": { type: "text/javascript; charset=utf-8", body: FLEET_JS },
  "/fleet.css": { type: "text/css; charset=utf-8", body: FLEET_CSS },
};

/** Server-Sent Events: the events kept, then each new one, until the client goes away. */
function streamEvents(events: FleetEvents, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  const send = (event: FleetEvent) => res.write(`id: ${event.n}\ndata: ${JSON.stringify(event)}\n\n`);
  for (const event of events.recent()) send(event);
  const stop = events.listen(send);
  // A comment now and then keeps proxies from closing an idle stream.
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  req.on("close", () => {
    stop();
    clearInterval(keepAlive);
  });
}

export class StatusServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
  ) {}

  static async start(host: string, port: number, sources: StatusSources): Promise<StatusServer> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://handler");
      const path = url.pathname;
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
        const all = url.searchParams.get("all") === "true";
        // ?all=true is for the page and tools, and large (a few MB at 10,000 devices): compact.
        const body = all
          ? JSON.stringify(sources.devices(all))
          : JSON.stringify(sources.devices(all), null, 2);
        res
          .writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
          .end(`${body}\n`);
        return;
      }
      const file = PAGE_FILES[path];
      if (file) {
        res
          .writeHead(200, {
            "content-type": file.type,
            "content-security-policy": FLEET_CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
          })
          .end(file.body);
        return;
      }
      if (path === "/events" && sources.events) {
        streamEvents(sources.events, req, res);
        return;
      }
      res
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /, /healthz, /metrics, /devices, /devices?all=true, /events\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === "object" && address ? address.port : port;
    log.info(
      { url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}` },
      "fleet page and HTTP status endpoints (/, /healthz, /metrics, /devices)",
    );
    return new StatusServer(server, bound, host);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
