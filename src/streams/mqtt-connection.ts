import { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import mqtt, { type IClientOptions, type MqttClient, ReasonCodes } from "mqtt";
import { BehaviorSubject, Subject } from "rxjs";
import type { BrokerCredentials } from "../discovery/broker-credentials.js";
import { topicMatches } from "../generic/topic-filter.js";
import { log } from "../log.js";
import { stateWill } from "../sparkplug/host/host-state.js";
import { credentialOptions } from "./client-options.js";
import type { MqttMessage } from "./message.js";

/*
 * One logical connection to a broker set (design.md §4 serverUrls): failover in the given
 * order, reconnects with exponential backoff and jitter, MQTT 5 with a fallback to 3.1.1
 * for brokers that refuse it or hang up on it, clean sessions (the Sparkplug host profile
 * requires them), TLS and credentials from discoveryProperties, and the Sparkplug host's
 * STATE death as the Will. A client id that another connection keeps taking is reported
 * once and retried with backoff. Subscriptions are reference-counted, so several
 * discoveries can share it.
 */

export interface ConnectionSettings {
  serverUrls: readonly string[];
  /** The full client id (prefix plus the per-pod suffix). */
  clientId: string;
  mqttVersion: 3 | 5;
  credentials: BrokerCredentials;
  /** The Sparkplug host id whose STATE death is registered as the Will, if any. */
  stateHostId?: string | undefined;
  /** Any other Will (the monitor's optional one); ignored when stateHostId is set. */
  will?: { topic: string; payload: Uint8Array | string; qos: 0 | 1; retain: boolean } | undefined;
  /**
   * Clean sessions (the default: the Sparkplug host profile requires them). The monitor
   * uses a persistent session instead, so that QoS 1 messages wait for it while it restarts.
   */
  clean?: boolean;
  /** With `clean: false` on MQTT 5, how long the broker keeps the session. */
  sessionExpirySeconds?: number;
  /**
   * MQTT 5 Maximum Packet Size: the broker does not send us anything larger, so a huge
   * message never takes memory here (MQTT 3.1.1 has no such limit: the broker's
   * message_size_limit is what bounds it).
   */
  maxPacketBytes?: number;
  keepaliveSeconds?: number;
  connectTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Where the user sets the client id and the MQTT version, named in hints (default: clientId
   * and mqttVersion in discoveryDetails; the monitor's are environment variables).
   */
  configuredBy?: { clientId: string; mqttVersion: string };
}

export type ConnectionStatus =
  | { kind: "connecting" }
  | { kind: "online"; broker: string; willTimestamp: number; protocolVersion: 4 | 5 }
  | { kind: "offline"; broker: string | undefined; error: string | undefined };

/** What to publish: host commands (rebirth NCMD, STATE). */
export interface Publish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /** What it is for, in metrics and logs (rebirth, state-birth, …). */
  purpose?: string;
}

/**
 * How long our own publish may take to come back through our subscription. A QoS 0
 * rebirth NCMD that a broker's ACL forbids vanishes without an error; not seeing it come
 * back is the only sign.
 */
const ECHO_TIMEOUT_MS = 5000;

const UNSUPPORTED_VERSION = /unacceptable protocol version|unsupported protocol version/i;

/** A CONNACK that refuses: the broker understood our CONNECT (mqtt.js's wording for every code). */
const REFUSED = /^Connection refused:/;

/** MQTT 5 DISCONNECT reason: another connection took over our client id's session. */
const SESSION_TAKEN_OVER = 0x8e;

/**
 * A session the broker ends, without an error or a reason, sooner than this after CONNACK was
 * cut short. Longer than the longest backoff, so that two connections with one client id that
 * both back off still count as throwing each other off.
 */
const SHORT_SESSION_MS = 60_000;

/**
 * Sessions cut short in a row, with no DISCONNECT saying why (MQTT 3.1.1 has none, and
 * Mosquitto 2.0 sends none even with MQTT 5), before we suspect our client id is shared.
 */
const SUSPECT_SHARED_ID_AFTER = 3;

const DETAILS_SETTINGS = {
  clientId: "clientId in discoveryDetails",
  mqttVersion: "mqttVersion in discoveryDetails",
};

/** What to call a broker's MQTT 5 DISCONNECT in logs. */
function disconnectReason(code: number | undefined): string {
  const hex = `0x${(code ?? 0).toString(16).toUpperCase().padStart(2, "0")}`;
  const name = (ReasonCodes as Record<number, string | undefined>)[code ?? 0];
  return `the broker sent DISCONNECT ${hex}${name ? ` (${name})` : ""}`;
}

/** A URL with any user info removed, for logs and properties. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

/** What a user can do about a connection the broker refused or that failed. */
export function connectHint(error: string | undefined, clientId: string): string | undefined {
  if (error === undefined) return undefined;
  if (/identifier rejected|client identifier not valid/i.test(error))
    return `the broker rejected the client id "${clientId}": set clientId in discoveryDetails to a prefix it accepts`;
  if (/bad user ?name or password|bad authentication/i.test(error))
    return "check the MQTT_USERNAME / MQTT_PASSWORD discoveryProperties";
  if (/not authorized/i.test(error))
    return `the broker does not let this client in: check the MQTT_USERNAME / MQTT_PASSWORD discoveryProperties, and whether the broker restricts client ids (this one is "${clientId}"; set clientId in discoveryDetails)`;
  if (/connack timeout/i.test(error))
    return "the broker accepted the TCP connection but never answered CONNECT (a TLS listener reached with tcp://, or a proxy?)";
  if (/alert certificate required/i.test(error))
    return "the broker requires a client certificate: give MQTT_CLIENT_CERT and MQTT_CLIENT_KEY";
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired)/i.test(error))
    return "the broker does not accept our client certificate (MQTT_CLIENT_CERT): it must be signed by a CA the broker trusts, and valid";
  if (
    /self.signed|unable to verify|local issuer|CERT_|altnames|certificate has expired|certificate is not yet valid/i.test(
      error,
    )
  )
    return "the broker's certificate is not trusted: check MQTT_CA_CERT and that the URL's host name is in the certificate";
  if (/ECONNREFUSED/.test(error)) return "nothing listens at this address";
  if (/ENOTFOUND|EAI_AGAIN/.test(error)) return "the host name does not resolve";
  return undefined;
}

export class BrokerConnection {
  readonly messages$ = new Subject<MqttMessage>();
  readonly status$ = new BehaviorSubject<ConnectionStatus>({ kind: "connecting" });
  private readonly filters = new Map<string, number>();
  private client: MqttClient | undefined;
  private online = false;
  private closed = false;
  private failures = 0;
  private urlIndex = 0;
  /** URLs that take MQTT 3.1.1 only: they refused MQTT 5, or hung up on it and took 3.1.1. */
  private readonly version311 = new Set<string>();
  /** URLs that hung up on MQTT 5 whose 3.1.1 attempt has not been answered yet. */
  private readonly trying311 = new Set<string>();
  /** Sessions in a row that the broker ended soon after CONNACK (another client with our id?). */
  private cutShortSessions = 0;
  /** Whether the error about a shared client id was logged for the current run of them. */
  private sharedIdReported = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly sameTurn = new Set<string>();
  /** Our own publishes waiting to come back through our subscription. */
  private readonly echoes = new Map<string, { payload: Buffer; timer: NodeJS.Timeout }[]>();
  /** Counts connections made, so an echo lost with an old connection is not blamed on an ACL. */
  private generation = 0;
  /** Filters the broker refused (SUBACK 0x80): our publishes on them never come back. */
  private readonly refusedFilters = new Set<string>();
  private notDeliveredLogged = 0;
  /** Counters for /metrics. */
  readonly stats = {
    publishFailures: 0,
    /** Publishes the broker accepted but never delivered back to us, by purpose (an ACL?). */
    notDelivered: new Map<string, number>(),
  };

  constructor(
    readonly settings: ConnectionSettings,
    private readonly random: () => number = Math.random,
    autoStart = true,
  ) {
    if (autoStart) this.connect();
  }

  /** A connection that waits for `start()`, so that everything can subscribe to it first. */
  static idle(settings: ConnectionSettings, random: () => number = Math.random): BrokerConnection {
    return new BrokerConnection(settings, random, false);
  }

  /** Connects a connection made with `idle`. */
  start(): void {
    if (!this.client && !this.closed && this.retryTimer === undefined) this.connect();
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** Adds topic filters (reference-counted); subscribes at once when online. */
  subscribe(filters: readonly string[]): void {
    const added: string[] = [];
    for (const filter of filters) {
      const count = this.filters.get(filter) ?? 0;
      this.filters.set(filter, count + 1);
      if (count === 0) added.push(filter);
    }
    if (added.length > 0 && this.online) this.sendSubscribe(this.client!, added);
  }

  /** Releases topic filters; unsubscribes the ones nobody needs any more. */
  unsubscribe(filters: readonly string[]): void {
    const removed: string[] = [];
    for (const filter of filters) {
      const count = this.filters.get(filter) ?? 0;
      if (count <= 1) {
        this.filters.delete(filter);
        if (count === 1) removed.push(filter);
      } else {
        this.filters.set(filter, count - 1);
      }
    }
    if (removed.length > 0 && this.online) this.client!.unsubscribe(removed);
  }

  /**
   * Publishes when online; while offline the publish is dropped (it would be stale by the
   * reconnect). Discoveries sharing this connection share its STATE host id and react to
   * the same message at the same moment: an identical retained publish in the same turn is
   * sent once.
   */
  async publish(message: Publish): Promise<boolean> {
    const client = this.client;
    if (!this.online || !client) return false;
    if (message.retain) {
      const key = `${message.topic}\0${Buffer.from(message.payload).toString("base64")}`;
      if (this.sameTurn.has(key)) return true;
      if (this.sameTurn.size === 0) queueMicrotask(() => this.sameTurn.clear());
      this.sameTurn.add(key);
    }
    const payload = Buffer.from(message.payload);
    const watching = this.expectEcho(message.topic, payload, message.purpose ?? "publish");
    try {
      await client.publishAsync(message.topic, payload, {
        qos: message.qos,
        retain: message.retain,
      });
      return true;
    } catch (e) {
      watching?.();
      this.stats.publishFailures++;
      log.warn(
        { topic: message.topic, purpose: message.purpose, err: (e as Error).message },
        "publish failed (does an ACL forbid this client to publish here?)",
      );
      return false;
    }
  }

  /** Waits for a publish to come back, if we subscribe to its topic; returns a canceller. */
  private expectEcho(topic: string, payload: Buffer, purpose: string): (() => void) | undefined {
    const covered = [...this.filters.keys()].some(
      (filter) => !this.refusedFilters.has(filter) && topicMatches(filter, topic),
    );
    if (!covered) return undefined;
    const generation = this.generation;
    const waiting = this.echoes.get(topic) ?? [];
    const entry = {
      payload,
      timer: setTimeout(() => {
        remove();
        // Lost with a connection that has since gone: nothing to say about ACLs.
        if (!this.online || this.generation !== generation) return;
        const { notDelivered } = this.stats;
        notDelivered.set(purpose, (notDelivered.get(purpose) ?? 0) + 1);
        const logged = ++this.notDeliveredLogged;
        if (logged > 10 && logged % 100 !== 0) return;
        log.warn(
          { topic, purpose, broker: redactUrl(this.settings.serverUrls[this.urlIndex]!) },
          `the broker accepted our ${purpose} publish but never delivered it: does an ACL forbid this client to publish on ${topic}?`,
        );
      }, ECHO_TIMEOUT_MS),
    };
    entry.timer.unref();
    const remove = () => {
      clearTimeout(entry.timer);
      const list = this.echoes.get(topic);
      const at = list?.indexOf(entry) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (list?.length === 0) this.echoes.delete(topic);
    };
    waiting.push(entry);
    this.echoes.set(topic, waiting);
    return remove;
  }

  /** A received message that is one of our publishes coming back. */
  private echoed(topic: string, payload: Buffer): void {
    const waiting = this.echoes.get(topic);
    if (!waiting) return;
    const at = waiting.findIndex((w) => w.payload.equals(payload));
    if (at < 0) return;
    clearTimeout(waiting[at]!.timer);
    waiting.splice(at, 1);
    if (waiting.length === 0) this.echoes.delete(topic);
  }

  private connect(): void {
    if (this.closed) return;
    const url = this.settings.serverUrls[this.urlIndex]!;
    const protocolVersion: 4 | 5 = this.settings.mqttVersion === 5 && !this.version311.has(url) ? 5 : 4;
    const willTimestamp = Date.now();
    const clean = this.settings.clean ?? true;
    const options: IClientOptions = {
      ...credentialOptions(this.settings.credentials),
      clientId: this.settings.clientId,
      clean,
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: this.settings.connectTimeoutMs ?? 10_000,
      keepalive: this.settings.keepaliveSeconds ?? 30,
      resubscribe: false,
    };
    if (protocolVersion === 5) {
      options.properties = {
        sessionExpiryInterval: clean ? 0 : (this.settings.sessionExpirySeconds ?? 86_400),
      };
      if (this.settings.maxPacketBytes !== undefined)
        options.properties.maximumPacketSize = Math.min(268_435_455, this.settings.maxPacketBytes);
    }
    if (this.settings.stateHostId !== undefined) {
      const will = stateWill(this.settings.stateHostId, willTimestamp);
      options.will = {
        topic: will.topic,
        payload: Buffer.from(will.payload),
        qos: will.qos,
        retain: will.retain,
      };
    } else if (this.settings.will !== undefined) {
      const { topic, payload, qos, retain } = this.settings.will;
      options.will = { topic, payload: Buffer.from(payload), qos, retain };
    }
    const broker = redactUrl(url);
    const { clientId } = this.settings;
    const configuredBy = this.settings.configuredBy ?? DETAILS_SETTINGS;
    // An MQTT 3.1.1 attempt right after the broker hung up on MQTT 5: does it speak 3.1.1?
    const trying311 = protocolVersion === 4 && this.trying311.has(url);
    let connected = false;
    let connectedAt = 0;
    let answered = false; // a CONNACK came, accepting or refusing
    let transportUp = false;
    let disconnect: number | undefined;
    let lastError: string | undefined;
    let fallback = false;
    let steady: NodeJS.Timeout | undefined;
    const client = mqtt.connect(url, options);
    this.client = client;
    this.generation++;
    // TCP (or TLS) up: a reset after this is the broker hanging up, not a failed connection.
    const { stream } = client;
    if (stream instanceof Socket)
      stream.once(stream instanceof TLSSocket ? "secureConnect" : "connect", () => {
        transportUp = true;
      });
    client.on("connect", () => {
      connected = answered = true;
      connectedAt = Date.now();
      this.failures = 0;
      if (trying311) this.trying311.delete(url);
      // A session that holds ends any run of sessions cut short.
      steady = setTimeout(() => {
        if (this.client !== client) return;
        if (this.sharedIdReported)
          log.info(
            { broker, clientId },
            "the connection has held for a minute: the other client with our client id is gone",
          );
        this.cutShortSessions = 0;
        this.sharedIdReported = false;
      }, SHORT_SESSION_MS);
      steady.unref();
      const filters = [...this.filters.keys()];
      const goOnline = () => {
        if (this.client !== client || this.closed) return;
        this.online = true;
        log.info({ broker, protocolVersion, clientId }, "connected to broker");
        this.status$.next({ kind: "online", broker, willTimestamp, protocolVersion });
      };
      if (filters.length === 0) goOnline();
      else this.sendSubscribe(client, filters, goOnline);
    });
    client.on("message", (topic, payload, packet) => {
      if (this.echoes.size > 0) this.echoed(topic, payload);
      this.messages$.next({ topic, payload, qos: packet.qos, retain: packet.retain, at: Date.now(), broker });
    });
    client.on("disconnect", (packet) => {
      disconnect = packet.reasonCode ?? 0;
      lastError = disconnectReason(disconnect);
    });
    client.on("error", (err) => {
      lastError = err.message;
      if (REFUSED.test(err.message)) answered = true;
      if (protocolVersion === 5 && UNSUPPORTED_VERSION.test(err.message)) {
        this.version311.add(url);
        fallback = true;
        log.info({ broker }, "broker refused MQTT 5; falling back to MQTT 3.1.1");
      }
    });
    client.on("close", () => {
      if (this.client !== client) return;
      clearTimeout(steady);
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.end(true);
      const wasOnline = this.online;
      this.online = false;
      this.client = undefined;
      if (this.closed) return;
      // Closed after the CONNECT went out and before any CONNACK: the broker hung up on it (a
      // connection that never came up fails with its own error: refused, TLS, timeout).
      const hungUp =
        !answered && (lastError === undefined || (transportUp && /ECONNRESET|EPIPE/.test(lastError)));
      if (hungUp && protocolVersion === 5 && !fallback) {
        // RabbitMQ before 3.13 cannot parse an MQTT 5 CONNECT and closes without a word.
        this.version311.add(url);
        this.trying311.add(url);
        fallback = true;
        log.info(
          { broker, err: lastError ?? "connection closed" },
          "the broker hung up on our MQTT 5 CONNECT without a CONNACK (as RabbitMQ before 3.13 does); trying MQTT 3.1.1",
        );
      }
      let hint = connectHint(lastError ?? "", clientId);
      if (trying311 && !connected) {
        this.trying311.delete(url);
        // No CONNACK to 3.1.1 either: the hang-up was not about the version; MQTT 5 next time.
        if (!answered) this.version311.delete(url);
        const pin = `set ${configuredBy.mqttVersion} to 3`;
        if (answered)
          hint = `${hint ?? lastError}; the broker hung up on MQTT 5 but answers MQTT 3.1.1: ${pin}`;
        else if (hungUp)
          hint = `the broker hung up without a CONNACK on MQTT 5 and on MQTT 3.1.1: is this an MQTT listener, and does it let this client in? If it speaks only MQTT 3.1.1, ${pin}`;
        else
          hint = `${hint ?? lastError}; the broker hung up on MQTT 5 and MQTT 3.1.1 failed too. If it speaks only MQTT 3.1.1, ${pin}`;
      } else if (hungUp) {
        hint ??=
          "the broker hung up without a CONNACK: is this an MQTT listener, and does it let this client in?";
      }
      const ended = connected ? this.sessionEnded(connectedAt, disconnect, lastError) : undefined;
      const retryInMs = this.scheduleReconnect(fallback ? "fallback" : connected ? "ended" : "failed");
      const next = redactUrl(this.settings.serverUrls[this.urlIndex]!);
      if (ended?.report) {
        log.error(
          {
            broker,
            clientId,
            err: lastError ?? "connection closed",
            hint: `two connections with one client id throw each other off: give each its own (${configuredBy.clientId}). This one retries with growing backoff and stays once the other has gone`,
            retryInMs,
          },
          ended.report,
        );
      } else if (wasOnline) {
        const lost = { broker, err: lastError, retryInMs, next };
        // One clear error per run of takeovers: the reconnects after it only at debug.
        if (this.sharedIdReported) log.debug(lost, "lost the broker connection; reconnecting");
        else log.warn(lost, "lost the broker connection; reconnecting");
      } else if (!fallback) {
        const err = lastError ?? "connection closed";
        log.warn({ broker, err, hint, failures: this.failures, retryInMs, next }, "cannot connect to broker");
      }
      this.status$.next({ kind: "offline", broker, error: lastError });
    });
  }

  /**
   * Counts sessions the broker ended soon after CONNACK. With MQTT 5 a takeover may say so
   * (DISCONNECT 0x8E); otherwise the broker just closes the older of two connections with one
   * client id, and only a run of such sessions shows it. Returns the error to log, once per run.
   */
  private sessionEnded(
    connectedAt: number,
    disconnect: number | undefined,
    error: string | undefined,
  ): { report: string | undefined } {
    const takenOver = disconnect === SESSION_TAKEN_OVER;
    const quietEnd = disconnect === undefined && error === undefined;
    if (!takenOver && !(quietEnd && Date.now() - connectedAt < SHORT_SESSION_MS)) {
      this.cutShortSessions = 0;
      this.sharedIdReported = false;
      return { report: undefined };
    }
    this.cutShortSessions++;
    if (this.sharedIdReported || (!takenOver && this.cutShortSessions < SUSPECT_SHARED_ID_AFTER))
      return { report: undefined };
    this.sharedIdReported = true;
    const { clientId } = this.settings;
    return {
      report: takenOver
        ? `another connection took over our session: the broker let a second client connect with our client id "${clientId}" and disconnected us (MQTT 5 reason 0x8E, Session taken over)`
        : `the broker closed our connection right after accepting it, ${this.cutShortSessions} times in a row: another client probably connects with our client id "${clientId}" (a broker drops the older of two connections with one client id, and with MQTT 3.1.1, or a broker such as Mosquitto 2.0, without saying why)`,
    };
  }

  private sendSubscribe(client: MqttClient, filters: string[], done?: () => void): void {
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) {
        log.error({ filters, err: err.message }, "subscribe failed");
      } else {
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        for (const filter of filters) this.refusedFilters.delete(filter);
        for (const filter of refused) this.refusedFilters.add(filter);
        if (refused.length > 0)
          log.error({ filters: refused }, "the broker refused these subscriptions (ACL?)");
      }
      done?.();
    });
  }

  /**
   * Schedules the next attempt; returns the delay. A fallback to MQTT 3.1.1 goes at once; a
   * failure tries the next URL; an ended session starts again from the first (preferred) one.
   * Failures in a row, and sessions cut short in a row (two connections with one client id
   * taking turns), wait longer each time.
   */
  private scheduleReconnect(outcome: "fallback" | "failed" | "ended"): number {
    if (outcome === "fallback") {
      queueMicrotask(() => this.connect()); // same URL, MQTT 3.1.1, at once
      return 0;
    }
    if (outcome === "failed") {
      this.urlIndex = (this.urlIndex + 1) % this.settings.serverUrls.length;
      this.failures++;
      this.cutShortSessions = 0;
      this.sharedIdReported = false;
    } else {
      this.urlIndex = 0;
      this.failures = 0;
    }
    const steps = outcome === "failed" ? this.failures : this.cutShortSessions;
    const initial = this.settings.initialBackoffMs ?? 500;
    const max = this.settings.maxBackoffMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.max(0, steps - 1));
    const delay = Math.round(base * (0.5 + this.random()));
    this.retryTimer = setTimeout(() => this.connect(), delay);
    return delay;
  }

  /** Publishes nothing more and disconnects (after the caller has published what it must, e.g. STATE death). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const waiting of this.echoes.values()) for (const w of waiting) clearTimeout(w.timer);
    this.echoes.clear();
    const client = this.client;
    this.client = undefined;
    this.online = false;
    if (client) await client.endAsync(false).catch(() => undefined);
    this.status$.next({ kind: "offline", broker: undefined, error: "closed" });
    this.status$.complete();
    this.messages$.complete();
  }
}
