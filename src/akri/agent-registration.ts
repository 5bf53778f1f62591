import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { log } from "../log.js";
import { backoffDelay } from "../time/backoff.js";
import type { HandlerMetrics } from "./handler-metrics.js";
import { RegistrationClient } from "./proto.js";

/*
 * Registration with the Akri agent (v0.Registration on agent-registration.sock). The agent
 * keeps registrations in memory only, so each new agent must be registered with once; and
 * in Akri 0.13 every registration makes each of our live Discover requests open one more
 * stream (registry `register_endpoint` → `watch_devices`), so never more than once.
 *
 * A new agent is told by its socket, not by a stream dropping (akri#558: with no stream
 * open nothing drops). The real agent (`run_registration_server`) removes its stale socket
 * and binds the same path at once; on ext4 the new socket usually gets the old inode number,
 * so a socket is known by device, inode and change/birth time together (a new bind always
 * has a new ctime). Besides: retry with backoff while the agent is absent, and register
 * again when the agent cancels our last open stream (it may have dropped our endpoint after
 * a failed connection); nothing periodic.
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

/** Which socket is at the path: device, inode, change and birth time (undefined: none). */
async function socketIdentity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.ctimeNs}:${s.birthtimeNs}`;
  } catch {
    return undefined;
  }
}

export class AgentRegistration {
  /** The socket of the agent we last registered with. */
  private registeredWith: string | undefined;
  /** The socket seen at the last check (undefined: none). */
  private seen: string | undefined;
  /** A registration was asked for whatever the socket (our last stream was cancelled). */
  private forced = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When `timer` fires. */
  private timerDue = 0;
  private poller: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private inProgress = false;
  private rerun = false;
  private stopped = false;
  private lastError: string | undefined;

  constructor(private readonly options: AgentRegistrationOptions) {}

  /** Ready for /healthz: registered with the agent that currently owns the socket. */
  get isRegistered(): boolean {
    return this.registeredWith !== undefined && this.registeredWith === this.seen;
  }

  start(): void {
    this.watchSocket();
    void this.run();
  }

  /**
   * The agent may have dropped our registration (it cancelled our last stream): register
   * again, with this agent too, once the coalescing window has passed.
   */
  requestReregistration(reason: string): void {
    if (this.stopped) return;
    log.info({ reason }, "re-registering with the Akri agent");
    this.forced = true;
    this.schedule(this.options.coalesceMs ?? 500);
  }

  /** Registers if the agent at the socket has not been registered with (or one was asked for). */
  private async run(): Promise<void> {
    if (this.stopped) return;
    if (this.inProgress) {
      this.rerun = true;
      return;
    }
    this.inProgress = true;
    const { socketPath, request } = this.options;
    const agent = await socketIdentity(socketPath);
    this.seen = agent;
    const forced = this.forced;
    if (agent !== undefined && agent === this.registeredWith && !forced) {
      this.finish();
      return;
    }
    try {
      if (agent === undefined) throw Object.assign(new Error("no socket"), { code: "ENOENT" });
      await this.call(request);
      this.registeredWith = agent;
      if (forced) this.forced = false;
      this.attempt = 0;
      this.lastError = undefined;
      this.options.metrics?.registrations.inc({ result: "ok" });
      log.info(
        { name: request.name, endpoint: request.endpoint, agent: socketPath },
        "registered with the Akri agent",
      );
    } catch (e) {
      this.options.metrics?.registrations.inc({ result: "error" });
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
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
      this.schedule(delay);
    }
    this.finish();
  }

  /** After a run: a trigger that came meanwhile is looked at again (the socket may have changed). */
  private finish(): void {
    this.inProgress = false;
    if (this.rerun) {
      this.rerun = false;
      void this.check();
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
    return backoffDelay(++this.attempt, {
      initialMs: this.options.initialBackoffMs ?? 500,
      maxMs: this.options.maxBackoffMs ?? 10_000,
    });
  }

  /** Runs after `delay`, unless a run is already due sooner. */
  private schedule(delay: number): void {
    if (this.stopped) return;
    const due = Date.now() + delay;
    if (this.timer !== undefined && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }

  /** Looks at the socket: a socket we have not registered with is a new agent, which knows nothing of us. */
  private async check(): Promise<void> {
    if (this.stopped) return;
    if (this.inProgress) {
      this.rerun = true;
      return;
    }
    const { socketPath } = this.options;
    const agent = await socketIdentity(socketPath);
    const before = this.seen;
    this.seen = agent;
    if (agent === undefined) {
      if (before !== undefined && this.registeredWith !== undefined)
        log.warn({ agent: socketPath }, "the agent's registration socket is gone; waiting for the agent");
      return;
    }
    if (agent === this.registeredWith) return;
    if (agent !== before) {
      log.info(
        { agent: socketPath },
        this.registeredWith === undefined
          ? "the agent's registration socket appeared"
          : "the agent's registration socket was re-created (agent restart)",
      );
      // A new agent: no need to sit out the rest of a backoff meant for the old one.
      this.attempt = 0;
      this.schedule(this.options.coalesceMs ?? 500);
    }
  }

  private watchSocket(): void {
    const { socketPath } = this.options;
    try {
      this.watcher = watch(dirname(socketPath), (_event, file) => {
        if (file === null || file === basename(socketPath)) void this.check();
      });
      this.watcher.on("error", () => undefined);
    } catch {
      // The directory may not exist yet; polling covers it.
    }
    this.poller = setInterval(() => void this.check(), this.options.pollMs ?? 2000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poller);
    this.watcher?.close();
  }
}
