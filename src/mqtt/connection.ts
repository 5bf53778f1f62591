import { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { BehaviorSubject, Subject } from "rxjs";
import { log } from "../log.js";
import { backoffDelay } from "../time/backoff.js";
import { connectHint, disconnectReason, fallbackHint, redactUrl } from "./connect-hints.js";
import { type BrokerCredentials, credentialOptions } from "./credentials.js";
import {
  dottedWillHint,
  filtersRejected,
  hasDot,
  REJECTED_RETRY_MS,
  willTopicRejected,
} from "./dotted-topics.js";
import { EchoWatch } from "./echo-watch.js";
import type { MqttMessage } from "./message.js";
import { RefCounts } from "./ref-counts.js";
import { TakeoverWatch } from "./takeover-watch.js";
import { topicMatches } from "./topic-filter.js";

/*
 * One logical connection to a broker (its serverUrls are failover listeners, tried in
 * order): reconnects with exponential backoff and jitter, MQTT 5 with a fallback to 3.1.1
 * for brokers that refuse it or hang up on it, clean sessions by default (the Sparkplug host
 * profile requires them), TLS and credentials, and a Will registered at every CONNECT. A
 * client id that another connection keeps taking is reported once and retried with backoff.
 * Subscriptions are reference-counted, so several discoveries can share it.
 */

/** A Will; its payload may depend on the moment of CONNECT (a Sparkplug STATE death carries it). */
export interface Will {
  topic: string;
  payload: Uint8Array | string | ((connectedAt: number) => Uint8Array | string);
  qos: 0 | 1;
  retain: boolean;
}

export interface ConnectionSettings {
  serverUrls: readonly string[];
  /** The full client id (prefix plus the per-node suffix). */
  clientId: string;
  mqttVersion: 3 | 5;
  credentials: BrokerCredentials;
  will?: Will | undefined;
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

/**
 * The MQTT 5 Maximum Packet Size for a consumer that skips payloads over `maxPayloadBytes`:
 * up to twice that arrives, to be counted and skipped; anything larger the broker drops.
 */
export function maxPacketBytesFor(maxPayloadBytes: number): number {
  return 2 * maxPayloadBytes + 65_536;
}

export type ConnectionStatus =
  | { kind: "connecting" }
  /**
   * `broker` is the broker's identity (its serverUrls, comma-joined), the same in every status
   * and message of this connection; `listener` is the URL it is (or was last) connected to.
   */
  | { kind: "online"; broker: string; listener: string; willTimestamp: number; protocolVersion: 4 | 5 }
  | { kind: "offline"; broker: string; listener: string | undefined; error: string | undefined };

/** What to publish: host commands (rebirth NCMD, STATE). */
export interface Publish {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /** What it is for, in metrics and logs (rebirth, state-birth, …). */
  purpose?: string;
}

const UNSUPPORTED_VERSION = /unacceptable protocol version|unsupported protocol version/i;

/** A CONNACK that refuses: the broker understood our CONNECT (mqtt.js's wording for every code). */
const REFUSED = /^Connection refused:/;

const DETAILS_SETTINGS = {
  clientId: "clientId in discoveryDetails",
  mqttVersion: "mqttVersion in discoveryDetails",
};

/** One CONNECT and what became of it. */
interface Attempt {
  client: MqttClient;
  url: string;
  /** The URL, redacted: for logs and statuses. */
  broker: string;
  protocolVersion: 4 | 5;
  willTimestamp: number;
  /** An MQTT 3.1.1 attempt right after the broker hung up on MQTT 5: does it speak 3.1.1? */
  trying311: boolean;
  connected: boolean;
  connectedAt: number;
  /** A CONNACK came, accepting or refusing. */
  answered: boolean;
  /** TCP (or TLS) came up: a reset after this is the broker hanging up, not a failed connection. */
  transportUp: boolean;
  /** The reason of an MQTT 5 DISCONNECT from the broker. */
  disconnect: number | undefined;
  lastError: string | undefined;
  /** The next attempt goes to the same URL with MQTT 3.1.1, at once. */
  fallback: boolean;
  /** The attempt before, to this URL, was answered: a CONNACK refusing MQTT 5. */
  afterRefusal: boolean;
  /** It hung up because our Will topic has a '.' (see dotted-topics.ts). */
  willRejected: boolean;
}

export class BrokerConnection {
  readonly messages$ = new Subject<MqttMessage>();
  readonly status$ = new BehaviorSubject<ConnectionStatus>({ kind: "connecting" });
  private readonly filters = new RefCounts<string>();
  private attempt: Attempt | undefined;
  private online = false;
  private closed = false;
  private failures = 0;
  private urlIndex = 0;
  /** URLs that take MQTT 3.1.1 only: they refused MQTT 5, or hung up on it and took 3.1.1. */
  private readonly version311 = new Set<string>();
  /** URLs that hung up on MQTT 5 whose 3.1.1 attempt has not been answered yet. */
  private readonly trying311 = new Set<string>();
  private readonly takeovers: TakeoverWatch;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly sameTurn = new Set<string>();
  private readonly echoes: EchoWatch;
  /** Filters the broker refused (SUBACK 0x80): our publishes on them never come back. */
  private readonly refusedFilters = new Set<string>();
  /** The URL whose CONNACK just refused MQTT 5 (the next attempt to it is the 3.1.1 one). */
  private refusedMqtt5: string | undefined;
  /** URLs that hang up on our Will topic because it has a '.'. */
  private readonly rejectWill = new Set<string>();
  /** What makes this connection useless until the broker changes, told once (for /devices). */
  private standing: { problem: string; cause: "will" | "filters" } | undefined;
  /** Counters for /metrics. */
  readonly stats: {
    publishFailures: number;
    notDelivered: ReadonlyMap<string, number>;
    /** Times a broker was found to reject topics we need for containing '.' (each told once). */
    dottedTopicsRejected: number;
  };

  constructor(
    readonly settings: ConnectionSettings,
    private readonly random: () => number = Math.random,
    autoStart = true,
  ) {
    this.uri = settings.serverUrls.join(",");
    this.takeovers = new TakeoverWatch(settings.clientId);
    this.echoes = new EchoWatch(() => redactUrl(this.settings.serverUrls[this.urlIndex]!));
    this.stats = { publishFailures: 0, notDelivered: this.echoes.notDelivered, dottedTopicsRejected: 0 };
    if (autoStart) this.connect();
  }

  /** A connection that waits for `start()`, so that everything can subscribe to it first. */
  static idle(settings: ConnectionSettings, random: () => number = Math.random): BrokerConnection {
    return new BrokerConnection(settings, random, false);
  }

  /** Connects a connection made with `idle`. */
  start(): void {
    if (!this.attempt && !this.closed && this.retryTimer === undefined) this.connect();
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** What keeps this connection from working until the broker changes (it rejects our topics), if anything. */
  get problem(): string | undefined {
    return this.standing?.problem;
  }

  /** The broker's identity: its serverUrls, comma-joined (what properties call it). */
  readonly uri: string;

  /** Adds topic filters (reference-counted); subscribes at once when online. */
  subscribe(filters: readonly string[]): void {
    const added = filters.filter((filter) => this.filters.add(filter));
    if (added.length > 0 && this.online) this.sendSubscribe(this.attempt!.client, added);
  }

  /** Releases topic filters; unsubscribes the ones nobody needs any more. */
  unsubscribe(filters: readonly string[]): void {
    const removed = filters.filter((filter) => this.filters.remove(filter));
    if (removed.length > 0 && this.online) this.attempt!.client.unsubscribe(removed);
  }

  /**
   * Publishes when online; while offline the publish is dropped (it would be stale by the
   * reconnect). Discoveries sharing this connection share its STATE host id and react to
   * the same message at the same moment: an identical retained publish in the same turn is
   * sent once.
   */
  async publish(message: Publish): Promise<boolean> {
    const attempt = this.attempt;
    if (!this.online || !attempt) return false;
    if (message.retain) {
      const key = `${message.topic}\0${Buffer.from(message.payload).toString("base64")}`;
      if (this.sameTurn.has(key)) return true;
      if (this.sameTurn.size === 0) queueMicrotask(() => this.sameTurn.clear());
      this.sameTurn.add(key);
    }
    const payload = Buffer.from(message.payload);
    const watching = this.subscribedTo(message.topic)
      ? this.echoes.expect(
          message.topic,
          payload,
          message.purpose ?? "publish",
          () => this.online && this.attempt === attempt,
        )
      : undefined;
    try {
      await attempt.client.publishAsync(message.topic, payload, { qos: message.qos, retain: message.retain });
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

  /** Does a subscription the broker granted cover `topic` (so our publish on it comes back)? */
  private subscribedTo(topic: string): boolean {
    return this.filters
      .keys()
      .some((filter) => !this.refusedFilters.has(filter) && topicMatches(filter, topic));
  }

  private connect(): void {
    if (this.closed) return;
    const url = this.settings.serverUrls[this.urlIndex]!;
    const protocolVersion: 4 | 5 = this.settings.mqttVersion === 5 && !this.version311.has(url) ? 5 : 4;
    const willTimestamp = Date.now();
    const client = mqtt.connect(url, this.clientOptions(protocolVersion, willTimestamp));
    const attempt: Attempt = {
      client,
      url,
      broker: redactUrl(url),
      protocolVersion,
      willTimestamp,
      trying311: protocolVersion === 4 && this.trying311.has(url),
      connected: false,
      connectedAt: 0,
      answered: false,
      transportUp: false,
      disconnect: undefined,
      lastError: undefined,
      fallback: false,
      afterRefusal: protocolVersion === 4 && this.refusedMqtt5 === url,
      willRejected: false,
    };
    this.refusedMqtt5 = undefined;
    this.attempt = attempt;
    const { stream } = client;
    if (stream instanceof Socket)
      stream.once(stream instanceof TLSSocket ? "secureConnect" : "connect", () => {
        attempt.transportUp = true;
      });
    client.on("connect", () => this.onConnack(attempt));
    client.on("message", (topic, payload, packet) => {
      this.echoes.received(topic, payload);
      this.messages$.next({
        topic,
        payload,
        qos: packet.qos,
        retain: packet.retain,
        at: Date.now(),
        broker: this.uri,
      });
    });
    client.on("disconnect", (packet) => {
      attempt.disconnect = packet.reasonCode ?? 0;
      attempt.lastError = disconnectReason(attempt.disconnect);
    });
    client.on("error", (err) => {
      attempt.lastError = err.message;
      if (REFUSED.test(err.message)) attempt.answered = true;
      if (protocolVersion === 5 && UNSUPPORTED_VERSION.test(err.message)) {
        this.version311.add(url);
        this.refusedMqtt5 = url;
        attempt.fallback = true;
        log.info({ broker: attempt.broker }, "broker refused MQTT 5; falling back to MQTT 3.1.1");
      }
    });
    client.on("close", () => this.onClose(attempt));
  }

  private clientOptions(protocolVersion: 4 | 5, willTimestamp: number): IClientOptions {
    const { settings } = this;
    const clean = settings.clean ?? true;
    const options: IClientOptions = {
      ...credentialOptions(settings.credentials),
      clientId: settings.clientId,
      clean,
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: settings.connectTimeoutMs ?? 10_000,
      keepalive: settings.keepaliveSeconds ?? 30,
      resubscribe: false,
    };
    if (protocolVersion === 5) {
      options.properties = {
        sessionExpiryInterval: clean ? 0 : (settings.sessionExpirySeconds ?? 86_400),
      };
      if (settings.maxPacketBytes !== undefined)
        options.properties.maximumPacketSize = Math.min(268_435_455, settings.maxPacketBytes);
    }
    if (settings.will !== undefined) {
      const { topic, payload, qos, retain } = settings.will;
      const bytes = typeof payload === "function" ? payload(willTimestamp) : payload;
      options.will = { topic, payload: Buffer.from(bytes), qos, retain };
    }
    return options;
  }

  /** The broker accepted us: subscribe to every filter held, then go online. */
  private onConnack(attempt: Attempt): void {
    attempt.connected = attempt.answered = true;
    attempt.connectedAt = Date.now();
    this.failures = 0;
    if (attempt.trying311) this.trying311.delete(attempt.url);
    this.rejectWill.delete(attempt.url);
    if (this.standing?.cause === "will") this.standing = undefined;
    this.takeovers.connected(attempt.broker, () => this.attempt === attempt);
    const goOnline = () => {
      if (this.attempt !== attempt || this.closed) return;
      this.online = true;
      const { broker: listener, protocolVersion, willTimestamp } = attempt;
      log.info(
        { broker: listener, protocolVersion, clientId: this.settings.clientId },
        "connected to broker",
      );
      this.status$.next({ kind: "online", broker: this.uri, listener, willTimestamp, protocolVersion });
    };
    const filters = this.filters.keys();
    if (filters.length === 0) goOnline();
    else this.sendSubscribe(attempt.client, filters, goOnline);
  }

  /** The connection closed: say why (with what to do about it) and schedule the next attempt. */
  private onClose(attempt: Attempt): void {
    if (this.attempt !== attempt) return;
    const { client, broker, lastError } = attempt;
    client.removeAllListeners();
    client.on("error", () => undefined);
    client.end(true);
    const wasOnline = this.online;
    this.online = false;
    this.attempt = undefined;
    if (this.closed) {
      this.takeovers.stop();
      return;
    }
    const hint = this.fallBack(attempt);
    const takenOver = attempt.connected
      ? this.takeovers.ended(attempt.connectedAt, attempt.disconnect, lastError)
      : undefined;
    const retryInMs = this.scheduleReconnect(
      attempt.fallback
        ? "fallback"
        : attempt.connected
          ? "ended"
          : attempt.willRejected
            ? "rejected"
            : "failed",
    );
    const next = redactUrl(this.settings.serverUrls[this.urlIndex]!);
    const configuredBy = this.settings.configuredBy ?? DETAILS_SETTINGS;
    if (takenOver) {
      log.error(
        {
          broker,
          clientId: this.settings.clientId,
          err: lastError ?? "connection closed",
          hint: `two connections with one client id throw each other off: give each its own (${configuredBy.clientId}). This one retries with growing backoff and stays once the other has gone`,
          retryInMs,
        },
        takenOver,
      );
    } else if (wasOnline) {
      const lost = { broker, err: lastError, retryInMs, next };
      // One clear error per run of takeovers: the reconnects after it only at debug.
      if (this.takeovers.reported) log.debug(lost, "lost the broker connection; reconnecting");
      else log.warn(lost, "lost the broker connection; reconnecting");
    } else if (attempt.willRejected) {
      // Told once; the slow retries that follow say nothing unless the broker lets us in.
      if (this.standing?.cause === "will")
        log.debug({ broker, retryInMs }, "the broker still rejects our Will topic");
      else
        this.report(
          { problem: hint!, cause: "will" },
          { broker, willTopic: this.settings.will?.topic, retryInMs },
        );
    } else if (!attempt.fallback) {
      const err = lastError ?? "connection closed";
      log.warn({ broker, err, hint, failures: this.failures, retryInMs, next }, "cannot connect to broker");
    }
    this.status$.next({ kind: "offline", broker: this.uri, listener: broker, error: lastError });
  }

  /**
   * Closed after the CONNECT went out and before any CONNACK is the broker hanging up on it
   * (a connection that never came up fails with its own error: refused, TLS, timeout). On
   * MQTT 5 that means trying MQTT 3.1.1 at once (RabbitMQ before 3.13 cannot parse an MQTT 5
   * CONNECT and closes without a word). Returns the hint for a failed attempt.
   */
  private fallBack(attempt: Attempt): string | undefined {
    const { url, broker, answered, transportUp, lastError, protocolVersion } = attempt;
    const hungUp =
      !answered && (lastError === undefined || (transportUp && /ECONNRESET|EPIPE/.test(lastError)));
    if (hungUp && protocolVersion === 5 && !attempt.fallback) {
      this.version311.add(url);
      this.trying311.add(url);
      attempt.fallback = true;
      log.info(
        { broker, err: lastError ?? "connection closed" },
        "the broker hung up on our MQTT 5 CONNECT without a CONNACK (as RabbitMQ before 3.13 does); trying MQTT 3.1.1",
      );
    }
    const hint = connectHint(lastError ?? "", this.settings.clientId);
    if (attempt.trying311 && !attempt.connected) {
      this.trying311.delete(url);
      // No CONNACK to 3.1.1 either: the hang-up was not about the version; MQTT 5 next time.
      if (!answered) this.version311.delete(url);
      const configuredBy = this.settings.configuredBy ?? DETAILS_SETTINGS;
      return fallbackHint({
        answered,
        hungUp,
        hint,
        lastError,
        mqttVersionSetting: configuredBy.mqttVersion,
      });
    }
    const willTopic = this.settings.will?.topic;
    if (hungUp && willTopic !== undefined && hasDot(willTopic)) {
      // It answered the CONNECT before (refusing MQTT 5) and not this one: the Will topic is what changed its mind.
      if (attempt.afterRefusal || this.rejectWill.has(url)) {
        this.rejectWill.add(url);
        attempt.willRejected = true;
        return willTopicRejected(willTopic);
      }
    }
    if (hungUp)
      return (
        (hint ??
          "the broker hung up without a CONNACK: is this an MQTT listener, and does it let this client in?") +
        (willTopic !== undefined && hasDot(willTopic) ? dottedWillHint(willTopic) : "")
      );
    return hint;
  }

  private sendSubscribe(client: MqttClient, filters: string[], done?: () => void): void {
    client.subscribe(filters, { qos: 1 }, (err, _granted, suback) => {
      // mqtt.js makes any refusal (a code with 0x80) an error, and leaves the codes in the SUBACK.
      const codes = suback?.granted;
      if (err && !Array.isArray(codes)) log.error({ filters, err: err.message }, "subscribe failed");
      else
        this.granted(
          filters,
          filters.filter((_, i) => (Number(codes?.[i] ?? 0) & 0x80) !== 0),
        );
      done?.();
    });
  }

  /** What a SUBACK refused: a filter with a '.' says what the broker is; anything else, an ACL. */
  private granted(filters: readonly string[], refused: readonly string[]): void {
    for (const filter of filters) this.refusedFilters.delete(filter);
    for (const filter of refused) this.refusedFilters.add(filter);
    const dotted = refused.filter(hasDot);
    if (dotted.length > 0) {
      if (this.standing === undefined)
        this.report({ problem: filtersRejected(dotted), cause: "filters" }, { filters: dotted });
    } else if (this.standing?.cause === "filters" && ![...this.refusedFilters].some(hasDot))
      this.standing = undefined;
    const others = refused.filter((f) => !hasDot(f));
    if (others.length > 0) log.error({ filters: others }, "the broker refused these subscriptions (ACL?)");
  }

  /**
   * Schedules the next attempt; returns the delay. A fallback to MQTT 3.1.1 goes at once; a
   * failure tries the next URL; an ended session starts again from the first (preferred) one.
   * Failures in a row, and sessions cut short in a row (two connections with one client id
   * taking turns), wait longer each time.
   */
  private scheduleReconnect(outcome: "fallback" | "failed" | "rejected" | "ended"): number {
    if (outcome === "fallback") {
      queueMicrotask(() => this.connect()); // same URL, MQTT 3.1.1, at once
      return 0;
    }
    // Every URL rejects our Will topic: no backoff will change that, but the broker may be replaced.
    if (outcome === "rejected" && this.settings.serverUrls.every((url) => this.rejectWill.has(url))) {
      this.urlIndex = 0;
      this.retryAfter(REJECTED_RETRY_MS);
      return REJECTED_RETRY_MS;
    }
    if (outcome !== "ended") {
      this.urlIndex = (this.urlIndex + 1) % this.settings.serverUrls.length;
      this.failures++;
      this.takeovers.failed();
    } else {
      this.urlIndex = 0;
      this.failures = 0;
    }
    const delay = backoffDelay(
      outcome === "ended" ? this.takeovers.run : this.failures,
      { initialMs: this.settings.initialBackoffMs ?? 500, maxMs: this.settings.maxBackoffMs ?? 30_000 },
      this.random,
    );
    this.retryAfter(delay);
    return delay;
  }

  private retryAfter(delay: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  /** A broker that rejects topics we need: one clear error, counted, kept for /devices until it changes. */
  private report(standing: NonNullable<BrokerConnection["standing"]>, fields: Record<string, unknown>): void {
    this.standing = standing;
    this.stats.dottedTopicsRejected++;
    log.error(fields, standing.problem);
  }

  /** Publishes nothing more and disconnects (after the caller has published what it must, e.g. STATE death). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.echoes.stop();
    this.takeovers.stop();
    const attempt = this.attempt;
    this.attempt = undefined;
    this.online = false;
    if (attempt) await attempt.client.endAsync(false).catch(() => undefined);
    this.status$.next({ kind: "offline", broker: this.uri, listener: undefined, error: "closed" });
    this.status$.complete();
    this.messages$.complete();
  }
}
