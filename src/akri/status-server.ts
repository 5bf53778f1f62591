import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { InventoryAccess } from "../discovery/details.js";
import { hostAllowed } from "../http/host-header.js";
import { isLoopbackAddress } from "../http/loopback.js";
import type { PageFile } from "../http/page-files.js";
import { log } from "../log.js";
import type { FleetEvent, FleetEvents } from "./fleet-events.js";
import { FLEET_CSP, fleetFiles, type PageModes } from "./fleet-page.js";
import type { HandlerMetrics } from "./handler-metrics.js";

/*
 * The handler's HTTP side: GET /healthz (200 once registered with the agent, else 503) and
 * GET /metrics (Prometheus), for everyone (the kubelet, Prometheus); and the plant inventory:
 * GET /devices (JSON; ?all=true adds what is seen but not listed, with why), the fleet page
 * (/ with its script and style), GET /events (Server-Sent Events of what the discoveries
 * report) and GET /activity (their births, deaths and rebirth requests per minute, last
 * hour). The inventory answers the pod's own loopback (and so `kubectl port-forward`,
 * which connects from inside the pod), and other clients only for the streams whose
 * Configuration opened it (`inventoryAccess: cluster`), or all of them with `serve
 * --inventory-access cluster`; and only when addressed to a name a DNS-rebinding page cannot
 * own. Read-only: every other method or path is refused; nothing is sniffed.
 */

/** The plant inventory: what the Discover streams list and report, and who may see each. */
interface PlantInventory {
  /** The /devices body for a client of the pod's loopback (every stream) or of the cluster. */
  inventoryJson(all: boolean, client: InventoryAccess): string;
  /** Whether a stream's Configuration opened it to clients off the pod's loopback. */
  openToCluster(stream: number): boolean;
  anyOpenToCluster(): boolean;
  /** The live feed of the fleet page. */
  readonly events: FleetEvents;
}

export interface StatusSources {
  ready: () => { ok: boolean; detail: string };
  metrics: () => Promise<string>;
  metricsContentType: string;
  inventory: PlantInventory;
  counts: Pick<HandlerMetrics, "httpRefused" | "eventStreams">;
}

export interface StatusServerOptions {
  host: string;
  port: number;
  /** `cluster`: every client sees every stream, as the pod's loopback does. */
  inventoryAccess: InventoryAccess;
  /** Names the inventory may be addressed to besides IPs, localhost and cluster names (lower-case). */
  allowedHosts: readonly string[];
  /** The modes' kind labels and standard properties, for the fleet page. */
  modes: PageModes;
}

/** Open /events clients at most: each holds a socket and a share of every event. */
const MAX_EVENT_STREAMS = 32;
/** An event stream client this far behind is dropped (its page reconnects). */
const MAX_EVENT_BACKLOG = 1024 * 1024;

const CLOSED_TO_CLUSTER =
  "the plant inventory (/, /devices, /events) answers only the pod's own loopback (kubectl port-forward); to open a Configuration's stream to other clients, set inventoryAccess: cluster in its discoveryDetails (or run serve --inventory-access cluster)\n";

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers }).end(body);
}

export class StatusServer {
  private readonly server = createServer((req, res) => this.handle(req, res));
  /** Open /events clients. */
  private eventStreams = 0;
  private readonly files: ReadonlyMap<string, PageFile>;
  /** Paths of the plant inventory: the page's files, /devices and /events. */
  private readonly inventoryPaths: ReadonlySet<string>;

  private constructor(
    private readonly options: StatusServerOptions,
    private readonly sources: StatusSources,
  ) {
    this.files = fleetFiles(options.modes);
    this.inventoryPaths = new Set([...this.files.keys(), "/devices", "/events", "/activity"]);
  }

  static async start(options: StatusServerOptions, sources: StatusSources): Promise<StatusServer> {
    const status = new StatusServer(options, sources);
    const { server } = status;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve());
    });
    const { host } = options;
    log.info(
      {
        url: `http://${host.includes(":") ? `[${host}]` : host}:${status.port}`,
        inventory: options.inventoryAccess,
      },
      "fleet page and HTTP status endpoints (/, /healthz, /metrics, /devices)",
    );
    return status;
  }

  /** The port bound (the one asked for, or the one picked for 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address ? address.port : this.options.port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("x-content-type-options", "nosniff");
    const url = new URL(req.url ?? "/", "http://handler");
    const path = url.pathname;
    const { sources } = this;
    if (req.method !== "GET" && req.method !== "HEAD") {
      text(res, 405, "read-only\n", { allow: "GET, HEAD" });
      return;
    }
    if (path === "/healthz") {
      const { ok, detail } = sources.ready();
      text(res, ok ? 200 : 503, `${detail}\n`);
      return;
    }
    if (path === "/metrics") {
      sources
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": sources.metricsContentType }).end(body))
        .catch((e: Error) => text(res, 500, `${e.message}\n`));
      return;
    }
    if (!this.inventoryPaths.has(path)) {
      text(
        res,
        404,
        "not found: try /, /healthz, /metrics, /devices, /devices?all=true, /events, /activity\n",
      );
      return;
    }
    const client = this.clientOf(req, res);
    if (client === undefined) return;
    if (path === "/devices") {
      const body = sources.inventory.inventoryJson(url.searchParams.get("all") === "true", client);
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
      return;
    }
    if (path === "/events") {
      this.streamEvents(req, res, client);
      return;
    }
    if (path === "/activity") {
      const visible = (stream: number) => client === "loopback" || sources.inventory.openToCluster(stream);
      const body = JSON.stringify(sources.inventory.events.minutes.read(visible));
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
      return;
    }
    const file = this.files.get(path)!;
    res
      .writeHead(200, {
        "content-type": file.type,
        "content-security-policy": FLEET_CSP,
        "referrer-policy": "no-referrer",
      })
      .end(file.body);
  }

  /**
   * Who asks for the inventory: the pod's loopback, or a client of the cluster with a stream
   * open to it. Anyone else, and any request addressed to a name that is not ours, is refused
   * (undefined).
   */
  private clientOf(req: IncomingMessage, res: ServerResponse): InventoryAccess | undefined {
    const { counts, inventory } = this.sources;
    if (!hostAllowed(req.headers.host, this.options.allowedHosts)) {
      counts.httpRefused.inc({ reason: "host" });
      text(
        res,
        403,
        `requests addressed to host ${JSON.stringify(req.headers.host ?? "")} are refused (DNS rebinding): use an IP, localhost, a Service name, or a name given to serve --allowed-hosts\n`,
      );
      return undefined;
    }
    if (this.options.inventoryAccess === "cluster" || isLoopbackAddress(req.socket.remoteAddress))
      return "loopback";
    if (inventory.anyOpenToCluster()) return "cluster";
    counts.httpRefused.inc({ reason: "not_loopback" });
    text(res, 403, CLOSED_TO_CLUSTER);
    return undefined;
  }

  /** Server-Sent Events: the events kept, then each new one, of the streams `client` may see. */
  private streamEvents(req: IncomingMessage, res: ServerResponse, client: InventoryAccess): void {
    const { counts, inventory } = this.sources;
    if (this.eventStreams >= MAX_EVENT_STREAMS) {
      counts.httpRefused.inc({ reason: "event_streams_full" });
      text(
        res,
        503,
        `${MAX_EVENT_STREAMS} event streams are open, the most this handler keeps: close a fleet page (or its tab), or try again later\n`,
        { "retry-after": "10" },
      );
      return;
    }
    this.eventStreams++;
    counts.eventStreams.set(this.eventStreams);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    // The client knows at once that the stream is open, even before the first event.
    res.flushHeaders();
    const visible = (event: FleetEvent) => client === "loopback" || inventory.openToCluster(event.stream);
    const send = (event: FleetEvent) => {
      if (!visible(event)) return;
      if (res.writableLength > MAX_EVENT_BACKLOG) {
        res.destroy();
        return;
      }
      res.write(`id: ${event.n}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    for (const event of inventory.events.recent()) send(event);
    const stop = inventory.events.listen(send);
    // A comment now and then keeps proxies from closing an idle stream.
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stop();
      clearInterval(keepAlive);
      this.eventStreams--;
      counts.eventStreams.set(this.eventStreams);
    };
    req.on("close", close);
    res.on("close", close);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
