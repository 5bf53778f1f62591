import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { RegistrationService } from "../akri-v0.js";
import { type Configuration, ConfigurationController, type WriteRecord } from "./configuration-controller.js";
import type { DiscoveredDevice } from "./device-watch.js";
import { DiscoveryRegistry } from "./discovery-registry.js";
import { HandlerEndpoint, type Registration } from "./handler-endpoint.js";
import { InstanceCache } from "./instance-cache.js";
import type { InstanceStore } from "./instance-store.js";

/*
 * The Akri agent of one node (Akri 0.13.26, agent/src/main.rs) as far as discovery and
 * Instances go: the registration socket (registration_socket.rs,
 * run_registration_server), the discovery handler registry, the Configuration controller
 * and the Instance cache it reads, writing Instances to a shared InstanceStore as field
 * manager = node name (AGENT_NODE_NAME). Device plugins, slots, finalizers and broker pods
 * are not modelled.
 */

export interface StandInAgentOptions {
  node: string;
  /** DISCOVERY_HANDLERS_DIRECTORY: where agent-registration.sock is. */
  directory: string;
  store: InstanceStore;
  /** How far behind the store its Instance cache is (watch delivery). */
  cacheLagMs?: number;
  /** Sees every Instance write it makes. */
  onWrite?: (write: WriteRecord) => void;
}

export class StandInAgent {
  readonly registrations: Registration[] = [];
  readonly writes: WriteRecord[] = [];
  private readonly registry: DiscoveryRegistry;
  private readonly controller: ConfigurationController;
  private server: Server | undefined;

  private constructor(
    private readonly options: StandInAgentOptions,
    private readonly cache: InstanceCache,
  ) {
    this.registry = new DiscoveryRegistry((key) => this.controller.request(key));
    this.controller = new ConfigurationController(
      options.node,
      this.registry,
      cache,
      options.store,
      (write) => {
        this.writes.push(write);
        options.onWrite?.(write);
      },
    );
  }

  static async start(options: StandInAgentOptions): Promise<StandInAgent> {
    const cache = await InstanceCache.start(options.store, options.cacheLagMs ?? 10);
    const agent = new StandInAgent(options, cache);
    await agent.listen();
    return agent;
  }

  get node(): string {
    return this.options.node;
  }

  get socketPath(): string {
    return join(this.options.directory, "agent-registration.sock");
  }

  /** run_registration_server: a stale socket removed, the path bound; registering never fails. */
  private async listen(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = new Server();
    server.addService(RegistrationService, {
      RegisterDiscoveryHandler: (
        call: { request: Registration },
        callback: (err: null, response: object) => void,
      ) => {
        const registration = { ...call.request };
        this.registrations.push(registration);
        this.registry.registerEndpoint(new HandlerEndpoint(registration, this.options.node));
        callback(null, {});
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    this.server = server;
  }

  /** A Configuration created or changed. */
  applyConfiguration(configuration: Configuration): void {
    this.controller.apply(configuration);
  }

  /** A Configuration being deleted: its request ends. */
  deleteConfiguration(name: string): void {
    this.controller.delete(name);
  }

  /** The request's devices (the CDI kind: union of its streams, de-duplicated), or undefined without one. */
  discovered(configuration: string): DiscoveredDevice[] | undefined {
    return this.registry.getRequest(configuration)?.devices();
  }

  /** The ids each of the Configuration's Discover streams lists now, stream by stream. */
  streamIds(configuration: string): string[][] {
    return this.registry.getRequest(configuration)?.streamIds() ?? [];
  }

  /** Each reconcile's outcome, newest last. */
  get outcomes(): ConfigurationController["outcomes"] {
    return this.controller.outcomes;
  }

  async stop(): Promise<void> {
    this.controller.stop();
    this.registry.close();
    this.cache.stop();
    this.server?.forceShutdown();
    this.server = undefined;
    await rm(this.socketPath, { force: true });
  }
}
