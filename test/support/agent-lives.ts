import { rmSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { join } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { type Registered, RegistrationService } from "./akri-agent.js";

/*
 * The agent's registration socket through many agent lives, as fast as a crash-looping agent
 * can go. Each life is what a new agent process does at start-up in Akri 0.13.26
 * (registration_socket.rs, run_registration_server): remove the socket file and bind the same
 * path, two system calls in a row; and then answer RegisterDiscoveryHandler, which never fails
 * (RegistrationEndpoint::register_discovery_handler). Here both happen in one synchronous step
 * (Node binds a Unix socket inside `listen`), so that a test can place a restart to the
 * millisecond. The life before ends as a killed agent does: its connections are cut and it
 * answers nothing more. Each life counts what reached it: connections and registrations.
 */

export interface AgentLife {
  index: number;
  /** performance.now() when it bound the socket. */
  boundAt: number;
  /** performance.now() of each connection it accepted. */
  accepted: number[];
  /** performance.now() and content of each registration it received. */
  registrations: { at: number; registered: Registered }[];
}

export class AgentLives {
  readonly lives: AgentLife[] = [];
  private listener: NetServer | undefined;
  private grpc: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly directory: string) {}

  get socketPath(): string {
    return join(this.directory, "agent-registration.sock");
  }

  get current(): AgentLife | undefined {
    return this.lives.at(-1);
  }

  /** Ends the current life (if any) and starts the next: remove the socket and bind it again, at once. */
  restart(): AgentLife {
    this.end();
    const life: AgentLife = { index: this.lives.length, boundAt: 0, accepted: [], registrations: [] };
    const grpc = new Server();
    grpc.addService(RegistrationService, {
      RegisterDiscoveryHandler: (
        call: { request: Registered },
        callback: (err: null, response: object) => void,
      ) => {
        life.registrations.push({ at: performance.now(), registered: call.request });
        callback(null, {});
      },
    });
    const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createServer((socket) => {
      life.accepted.push(performance.now());
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      injector.injectConnection(socket);
    });
    listener.on("error", () => undefined);
    rmSync(this.socketPath, { force: true });
    listener.listen(this.socketPath);
    life.boundAt = performance.now();
    this.listener = listener;
    this.grpc = grpc;
    this.lives.push(life);
    return life;
  }

  /** The current life dies: no more answers, its connections cut (closing the listener removes the file). */
  end(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.listener?.close();
    this.grpc?.forceShutdown();
    this.listener = undefined;
    this.grpc = undefined;
  }
}
