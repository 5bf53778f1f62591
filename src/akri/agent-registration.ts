import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import type { Socket } from "node:net";
import { basename, dirname } from "node:path";
import { log } from "../log.js";
import { backoffDelay } from "../time/backoff.js";
import type { HandlerMetrics } from "./handler-metrics.js";
import type { RegisterRequest } from "./proto.js";
import { connectUnix, registerOver } from "./registration-call.js";

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
 * has a new ctime). The registration goes over a connection we open ourselves, between two
 * looks at the socket that agree: so it reaches the agent we record it for, never one that
 * rebound in between (which would then be registered with twice).
 *
 * Besides: retry with backoff while the agent is absent; and register again when the agent
 * cancels our last open stream, since it may have stopped our endpoint after a failed
 * connection (NetworkEndpoint::query), unless a Discover call comes first: the agent only
 * calls endpoints it has and has not stopped, so a call proves it still has us. Nothing
 * periodic.
 */

export interface AgentRegistrationOptions {
  socketPath: string;
  request: RegisterRequest;
  metrics?: HandlerMetrics;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Coalescing window for re-registration triggers. */
  coalesceMs?: number;
  /** How often the socket's identity is checked besides fs.watch (which can miss events). */
  pollMs?: number;
}

/** How long one connection or call to the agent may take. */
const CALL_TIMEOUT_MS = 5000;
/** Times in a row a registration may find the socket replaced while connecting before backing off. */
const REBOUND_RETRIES = 3;

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
  /**
   * A registration was asked for whatever the socket (our last stream was cancelled): the
   * number of that request, 0 when none is pending.
   */
  private forced = 0;
  private forcedRequests = 0;
  /** A registration call is on its way to the agent. */
  private calling = false;
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

  /** Starts registering; resolves once the first attempt is over, registered or not (it goes on retrying). */
  start(): Promise<void> {
    this.watchSocket();
    return this.run();
  }

  /**
   * The agent may have dropped our registration (it cancelled our last stream): register
   * again, with this agent too, once the coalescing window has passed, unless a Discover
   * call comes first.
   */
  requestReregistration(reason: string): void {
    if (this.stopped) return;
    log.info({ reason }, "re-registering with the Akri agent");
    this.forced = ++this.forcedRequests;
    this.schedule(this.options.coalesceMs ?? 500);
  }

  /**
   * A Discover call came: the agent has our endpoint and has not stopped it (it queries no
   * other), so a re-registration asked for before is not needed, and would only make each
   * of the agent's live requests open one more stream.
   */
  discoverCalled(): void {
    if (this.forced === 0) return;
    this.forced = 0;
    log.info(
      this.calling
        ? "a Discover call came while re-registering: the agent had our endpoint after all"
        : "no need to re-register: a Discover call came after our last stream was cancelled",
    );
  }

  /** Whether the agent at `agent` needs a registration (undefined: no socket, try and fail). */
  private needed(agent: string | undefined): boolean {
    return agent === undefined || agent !== this.registeredWith || this.forced !== 0;
  }

  /** Registers if the agent at the socket has not been registered with (or one was asked for). */
  private async run(): Promise<void> {
    if (this.stopped) return;
    if (this.inProgress) {
      this.rerun = true;
      return;
    }
    this.inProgress = true;
    try {
      await this.register();
    } finally {
      this.finish();
    }
  }

  private async register(): Promise<void> {
    const { socketPath, request } = this.options;
    for (let tries = 1; ; tries++) {
      const agent = await socketIdentity(socketPath);
      this.seen = agent;
      if (!this.needed(agent) || this.stopped) return;
      let connection: Socket | undefined;
      try {
        if (agent === undefined) throw Object.assign(new Error("no socket"), { code: "ENOENT" });
        connection = await connectUnix(socketPath, CALL_TIMEOUT_MS);
        // The same socket before and after connecting: the connection reached that agent.
        const reached = await socketIdentity(socketPath);
        this.seen = reached;
        if (reached !== agent) {
          connection.destroy();
          if (tries < REBOUND_RETRIES) {
            log.info(
              { agent: socketPath },
              "the agent's registration socket was replaced while connecting; again",
            );
            continue;
          }
          throw new Error("the agent's registration socket keeps being replaced");
        }
        // Looked at again just before the call: a Discover call may have made it needless.
        if (!this.needed(agent) || this.stopped) {
          connection.destroy();
          return;
        }
        const forced = this.forced;
        this.calling = true;
        try {
          await registerOver(connection, request, CALL_TIMEOUT_MS);
        } finally {
          this.calling = false;
        }
        this.registeredWith = agent;
        // A re-registration asked for while this one was on its way still stands.
        if (this.forced === forced) this.forced = 0;
        this.attempt = 0;
        this.lastError = undefined;
        this.options.metrics?.registrations.inc({ result: "ok" });
        log.info(
          { name: request.name, endpoint: request.endpoint, agent: socketPath },
          "registered with the Akri agent",
        );
      } catch (e) {
        connection?.destroy();
        this.failed(e as NodeJS.ErrnoException);
      }
      return;
    }
  }

  /** A registration failed: retry after a backoff, and say so (now and then when it goes on). */
  private failed(e: NodeJS.ErrnoException): void {
    const { socketPath } = this.options;
    this.options.metrics?.registrations.inc({ result: "error" });
    const message = e.code === "ENOENT" ? "the agent's registration socket does not exist yet" : e.message;
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

  /** After a run: a trigger that came meanwhile is looked at again (the socket may have changed). */
  private finish(): void {
    this.inProgress = false;
    if (this.rerun) {
      this.rerun = false;
      void this.check();
    }
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
