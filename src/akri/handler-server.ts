import { rmSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { log } from "../log.js";
import { DiscoveryHandlerServerService, EndpointType } from "./proto.js";

/*
 * Where the discovery handler listens (akri.md §1.2): a Unix socket
 * $DISCOVERY_HANDLERS_DIRECTORY/<name>.sock registered as UDS (a stale socket is removed
 * first and on exit), or, when POD_IP is set, TCP port 10000 registered as
 * http://<POD_IP>:10000 (NETWORK).
 */

const DISCOVERY_PORT = 10000;

export interface HandlerEndpoint {
  /** What grpc-js binds. */
  bind: string;
  /** What the agent is told. */
  endpoint: string;
  endpointType: 0 | 1;
  /** The socket file to remove on exit, for UDS. */
  socketPath?: string;
}

export function handlerEndpoint(name: string, directory: string, podIp: string | undefined): HandlerEndpoint {
  if (podIp) {
    const host = podIp.includes(":") ? `[${podIp}]` : podIp;
    return {
      bind: `${host}:${DISCOVERY_PORT}`,
      endpoint: `http://${host}:${DISCOVERY_PORT}`,
      endpointType: EndpointType.NETWORK,
    };
  }
  const socketPath = join(directory, `${name}.sock`);
  return { bind: `unix://${socketPath}`, endpoint: socketPath, endpointType: EndpointType.UDS, socketPath };
}

export class HandlerServer {
  /** Resolves once every open call has ended after `refuseNewCalls`. */
  private drained: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    readonly endpoint: HandlerEndpoint,
  ) {}

  static async start(
    endpoint: HandlerEndpoint,
    discover: UntypedServiceImplementation["Discover"],
  ): Promise<HandlerServer> {
    if (endpoint.socketPath) {
      await mkdir(join(endpoint.socketPath, ".."), { recursive: true });
      await rm(endpoint.socketPath, { force: true });
    }
    const server = new Server({ "grpc.keepalive_permit_without_calls": 1 });
    server.addService(DiscoveryHandlerServerService, { Discover: discover! });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(endpoint.bind, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      );
    });
    log.info({ endpoint: endpoint.endpoint }, "serving v0.DiscoveryHandler");
    return new HandlerServer(server, endpoint);
  }

  /**
   * Takes no new call: the listener closes (a Unix socket's file goes with it) and open
   * connections are told to open no new stream (GOAWAY); the calls already open go on until
   * they end. The agent connects afresh for each query, and one that cannot connect stops
   * our endpoint (NetworkEndpoint::query): nothing more is asked of a handler going away.
   */
  refuseNewCalls(): void {
    if (this.drained) return;
    this.drained = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    if (this.endpoint.socketPath) rmSync(this.endpoint.socketPath, { force: true });
  }

  /** Stops serving (the socket is removed first): the open calls get a second to end, then are cut. */
  async stop(): Promise<void> {
    this.refuseNewCalls();
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
    });
    await Promise.race([this.drained, cut]);
    clearTimeout(timer);
  }
}
