import { join } from "node:path";
import { tap } from "rxjs";
import { AgentRegistration } from "../akri/agent-registration.js";
import { type DiscoverCall, DiscoverService } from "../akri/discover-service.js";
import type { PageModes } from "../akri/fleet-page.js";
import { HandlerServer, handlerEndpoint } from "../akri/handler-server.js";
import { nodeIdentity } from "../akri/node-identity.js";
import { StatusServer } from "../akri/status-server.js";
import type { DiscoveryFactory } from "../discovery/discovery-request.js";
import { hostList } from "../http/host-header.js";
import { log } from "../log.js";
import type { ConnectionPool } from "../mqtt/connection-pool.js";
import { ServeMetrics } from "./serve-metrics.js";
import { untilStopped } from "./until-stopped.js";
import { UsageError } from "./usage-error.js";

export interface ServeOptions {
  name: string;
  httpPort: string;
  httpHost: string;
  inventoryAccess: string;
  allowedHosts: string;
}

/**
 * `akri-mqtt serve`: the Akri discovery handler. Serves v0.DiscoveryHandler, registers with
 * the agent (and again whenever the agent restarts), and exposes /healthz, /metrics and the
 * plant inventory (/, /devices, /events). SIGTERM: no new Discover call taken (the socket is
 * removed first), the open streams ended, STATE deaths published, exit 0.
 */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const port = Number(options.httpPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--http-port must be a port number (0 picks a free one), got "${options.httpPort}"`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(options.name))
    throw new UsageError(`--name must be a plain name, got "${options.name}"`);
  const inventoryAccess = options.inventoryAccess;
  if (inventoryAccess !== "loopback" && inventoryAccess !== "cluster")
    throw new UsageError(`--inventory-access must be loopback or cluster, got "${inventoryAccess}"`);
  const allowedHosts = hostList(options.allowedHosts);
  // Listening for SIGTERM from the start: a pod deleted while it starts still exits cleanly.
  const stopped = untilStopped();
  const directory = process.env.DISCOVERY_HANDLERS_DIRECTORY || "/var/lib/akri";
  const identity = await nodeIdentity(directory, options.name);
  log.info(
    { suffix: identity.suffix, from: identity.source, file: identity.file },
    "this node's MQTT identity: client id <clientId>-<suffix>, STATE host id <hostId>-<suffix>",
  );
  const metrics = new ServeMetrics();
  const endpoint = handlerEndpoint(options.name, directory, process.env.POD_IP || undefined);
  const registration = new AgentRegistration({
    socketPath: join(directory, "agent-registration.sock"),
    request: {
      name: options.name,
      endpoint: endpoint.endpoint,
      endpointType: endpoint.endpointType,
      shared: true,
    },
    metrics: metrics.handler,
  });
  // The discovery code (modes, schemas, MQTT: most of serve's code) is loaded once the first
  // registration attempt is over, or at the first Discover call if that comes first.
  let pool: ConnectionPool | undefined;
  let discover: DiscoveryFactory | undefined;
  let loading: Promise<PageModes> | undefined;
  const loadDiscovery = () => {
    loading ??= import("./serve-discovery.js").then((loaded) => {
      const livePool = new loaded.ConnectionPool((connection) => metrics.connections.watch(connection));
      pool = livePool;
      discover = (request) => {
        const discovery = loaded.prepareLiveDiscovery(request, { pool: livePool, suffix: identity.suffix });
        if (!discovery.ok) return discovery;
        const outputs$ = discovery.outputs$.pipe(tap((output) => metrics.discovery.observe(output.report)));
        return { ...discovery, outputs$ };
      };
      return loaded.pageModes;
    });
    return loading;
  };
  const service = new DiscoverService({
    discover: (request) => {
      if (!discover) throw new Error("a Discover call before the discovery code was loaded");
      return discover(request);
    },
    metrics: metrics.handler,
    onLastStreamCancelled: () =>
      registration.requestReregistration("the agent cancelled our last open Discover stream"),
    onDiscoverCall: () => registration.discoverCalled(),
  });
  // A call that comes while the discovery code loads is served once it has (unless the agent
  // gave up on it meanwhile): the handler takes Discover calls from the moment it registers.
  const handler = (call: DiscoverCall): void => {
    if (discover) {
      service.handler(call);
      return;
    }
    void loadDiscovery().then(() => {
      if (!call.cancelled) service.handler(call);
    });
  };
  const server = await HandlerServer.start(endpoint, handler);
  let status: StatusServer;
  try {
    await registration.start();
    // /healthz, /metrics and the fleet page come up after: the page shows the modes. Not
    // ready before registering anyway, and liveness probes allow a start-up delay.
    const pageModes = await loadDiscovery();
    status = await StatusServer.start(
      { host: options.httpHost, port, inventoryAccess, allowedHosts, modes: pageModes },
      {
        ready: () =>
          registration.isRegistered
            ? { ok: true, detail: `registered as ${options.name} (${service.size} Discover stream(s))` }
            : { ok: false, detail: "not registered with the Akri agent yet" },
        metrics: () => metrics.text(),
        metricsContentType: metrics.registry.contentType,
        inventory: service,
        counts: metrics.handler,
      },
    );
  } catch (e) {
    // A start that fails (its HTTP port taken, say) exits 1: the registration loop and the
    // gRPC server left running would keep the process up, unhealthy, and deaf to SIGTERM.
    registration.stop();
    await server.stop();
    throw e;
  }

  await stopped;
  log.info("shutting down: taking no new Discover call, ending the streams, publishing STATE death");
  registration.stop();
  // In this order: when a Configuration's last stream ends, the agent queries again at once
  // (new_request); it must find no handler here, not start a discovery in one going away.
  server.refuseNewCalls();
  service.stopAll();
  await pool?.settled(); // set by now: the status server started after the load
  await server.stop();
  await status.stop();
  log.info("stopped");
}
