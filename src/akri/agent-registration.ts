import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { log } from "../log.js";
import type { HandlerMetrics } from "./handler-metrics.js";
import { RegistrationClient } from "./proto.js";

/*
 * Registration with the Akri agent (v0.Registration on agent-registration.sock). The agent
 * keeps registrations in memory only, so after it restarts the handler must register
 * again; Akri's own handlers notice only when a Discover stream drops (akri#558). Here:
 * retry with backoff while the agent is absent; re-register when the agent drops a stream
 * or when its socket is re-created (a new inode); bursts of triggers coalesce into one
 * registration; nothing periodic (each registration makes the agent open new streams).
 */

export interface RegistrationRequest {
  name: string;
  endpoint: string;
  endpointType: 0 | 1;
  shared: boolean;
}

export interface AgentRegistrationOptions {
  socketPath: string;
  request: RegistrationRequest;
  metrics?: HandlerMetrics;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Coalescing window for re-registration triggers. */
  coalesceMs?: number;
  /** How often the socket's identity is checked besides fs.watch (which can miss events). */
  pollMs?: number;
}

type RegisterCall = (
  request: RegistrationRequest,
  options: { deadline: number },
  callback: (err: ServiceError | null) => void,
) => void;

export class AgentRegistration {
  private registered = false;
  private registeredInode: number | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private inProgress = false;
  private again = false;
  private stopped = false;
  private waitingForSocket = false;
  private lastError: string | undefined;
  /** Successful registrations so far. */
  count = 0;

  constructor(private readonly options: AgentRegistrationOptions) {}

  /** Ready for /healthz: registered with the agent that currently owns the socket. */
  get isRegistered(): boolean {
    return this.registered;
  }

  start(): void {
    this.watchSocket();
    void this.register();
  }

  /** Something suggests the agent lost our registration: register again (coalesced). */
  requestReregistration(reason: string): void {
    if (this.stopped) return;
    if (this.inProgress) {
      this.again = true;
      return;
    }
    if (this.timer) return; // already scheduled: this trigger joins the burst
    log.info({ reason }, "re-registering with the Akri agent");
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.register();
    }, this.options.coalesceMs ?? 500);
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    this.inProgress = true;
    const { socketPath, request } = this.options;
    let inode: number | undefined;
    try {
      inode = (await stat(socketPath)).ino;
      await this.call(request);
      this.registered = true;
      this.registeredInode = inode;
      this.attempt = 0;
      this.count++;
      this.options.metrics?.registrations.inc({ result: "ok" });
      log.info(
        { name: request.name, endpoint: request.endpoint, agent: socketPath },
        "registered with the Akri agent",
      );
    } catch (e) {
      this.registered = false;
      this.options.metrics?.registrations.inc({ result: "error" });
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      this.waitingForSocket = missing;
      const message = missing ? "the agent's registration socket does not exist yet" : (e as Error).message;
      const delay = this.backoff();
      // Say it when it changes, then only now and then: an absent agent must not flood the log.
      if (message !== this.lastError || (this.attempt & (this.attempt - 1)) === 0) {
        log.warn(
          { agent: socketPath, err: message, retryInMs: delay, attempt: this.attempt },
          "cannot register with the Akri agent; retrying",
        );
      }
      this.lastError = message;
      this.inProgress = false;
      this.schedule(delay);
      return;
    }
    this.inProgress = false;
    if (this.again) {
      this.again = false;
      this.requestReregistration("triggered during the last registration");
    }
  }

  private call(request: RegistrationRequest): Promise<void> {
    const client = new RegistrationClient(`unix://${this.options.socketPath}`, credentials.createInsecure());
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 5000;
      const register = (client as unknown as { RegisterDiscoveryHandler: RegisterCall })
        .RegisterDiscoveryHandler;
      register.call(client, request, { deadline }, (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private backoff(): number {
    const initial = this.options.initialBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** this.attempt++);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  private schedule(delay: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.register();
    }, delay);
  }

  /** Watches the agent's socket: a new inode means a new agent, which knows nothing of us. */
  private watchSocket(): void {
    const { socketPath } = this.options;
    const check = async () => {
      let inode: number | undefined;
      try {
        inode = (await stat(socketPath)).ino;
      } catch {
        if (this.registered) {
          this.registered = false;
          log.warn({ agent: socketPath }, "the agent's registration socket is gone; waiting for the agent");
        }
        return;
      }
      if (this.registeredInode !== undefined && inode !== this.registeredInode && !this.inProgress) {
        this.registeredInode = undefined;
        this.registered = false;
        this.requestReregistration("the agent's registration socket was re-created (agent restart)");
      } else if (
        !this.registered &&
        !this.inProgress &&
        this.registeredInode === undefined &&
        this.waitingForSocket
      ) {
        // The agent just created its socket: no need to sit out the rest of a backoff.
        this.waitingForSocket = false;
        clearTimeout(this.timer);
        this.timer = undefined;
        this.requestReregistration("the agent's registration socket appeared");
      }
    };
    try {
      this.watcher = watch(dirname(socketPath), (_event, file) => {
        if (file === null || file === basename(socketPath)) void check();
      });
      this.watcher.on("error", () => undefined);
    } catch {
      // The directory may not exist yet; polling covers it.
    }
    this.poller = setInterval(() => void check(), this.options.pollMs ?? 2000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poller);
    this.watcher?.close();
  }
}
