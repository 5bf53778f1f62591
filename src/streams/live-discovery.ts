import { defer, finalize, type Observable } from "rxjs";
import { type DiscoveryDetails, parseDiscoveryDetails } from "../discovery/details.js";
import type { DiscoveryCommand } from "../discovery/discoverer.js";
import type { DiscoveryRequest, PreparedDiscovery } from "../discovery/discovery-request.js";
import { DiscoveryEngine, type EngineOutput } from "../discovery/engine.js";
import type { EmitterTiming } from "../discovery/list-emitter.js";
import { type DiscovererOptions, discovererFor } from "../discovery/modes/discoverer-for.js";
import { type ConnectionSettings, maxPacketBytesFor, type Will } from "../mqtt/connection.js";
import { type ConnectionPool, connectionPool } from "../mqtt/connection-pool.js";
import { type BrokerCredentials, parseBrokerCredentials } from "../mqtt/credentials.js";
import { runDiscovery } from "./discovery-pipeline.js";

/*
 * Live discovery against the brokers of a discoveryDetails: a pooled connection, the
 * engine's subscriptions, host commands published back (STATE birth once per connection
 * session), and a clean exit: the last discovery on a connection publishes the host's
 * STATE death before disconnecting.
 */

export interface LiveDiscoveryOptions {
  details: DiscoveryDetails;
  credentials: BrokerCredentials;
  /**
   * Who this process is on the broker: its client id is `<clientId>-<suffix>` and its STATE
   * host id `<hostId>-<hostSuffix ?? suffix>`. Each command says it (a handler: its node's
   * identity; a command a person runs: one of its own, never a handler's).
   */
  suffix: string;
  hostSuffix?: string;
  pool?: ConnectionPool;
  timing?: EmitterTiming;
  /** Connection tuning (tests use short timeouts). */
  connection?: Partial<
    Pick<ConnectionSettings, "connectTimeoutMs" | "initialBackoffMs" | "maxBackoffMs" | "keepaliveSeconds">
  >;
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: DiscovererOptions["host"];
}

/** This process's Sparkplug host id: its STATE Will and its STATE birth must name the same host. */
function hostIdOf(options: LiveDiscoveryOptions): string {
  const prefix = options.details.mode === "sparkplug" ? options.details.sparkplug.hostId : "akri-mqtt";
  return `${prefix}-${options.hostSuffix ?? options.suffix}`;
}

function connectionSettings(options: LiveDiscoveryOptions, will: Will | undefined): ConnectionSettings {
  const { details } = options;
  return {
    serverUrls: details.serverUrls,
    clientId: `${details.clientId}-${options.suffix}`,
    mqttVersion: details.mqttVersion,
    credentials: options.credentials,
    will,
    maxPacketBytes: maxPacketBytesFor(details.maxPayloadBytes),
    ...options.connection,
  };
}

/** Discovers live; every engine output as it happens. Unsubscribing releases the connection. */
export function liveDiscovery(options: LiveDiscoveryOptions): Observable<EngineOutput> {
  return defer(() => {
    const { details } = options;
    const discoverer = discovererFor(details, {
      hostId: hostIdOf(options),
      ...(options.host ? { host: options.host } : {}),
    });
    const engine = new DiscoveryEngine(discoverer, {
      maxPayloadBytes: details.maxPayloadBytes,
      ...(options.timing ? { timing: options.timing } : {}),
    });
    const settings = connectionSettings(options, discoverer.will);
    const pooled = (options.pool ?? connectionPool).acquire(settings);
    const { connection } = pooled;
    connection.subscribe(engine.subscriptions);
    const publish = (command: DiscoveryCommand) => {
      void connection.publish(command);
    };
    return runDiscovery(engine, {
      messages$: connection.messages$,
      status$: connection.status$,
      publish,
    }).pipe(
      finalize(() => {
        connection.unsubscribe(engine.subscriptions);
        void pooled.release(async () => {
          const { commands } = engine.step({ kind: "shutdown" }, Date.now());
          for (const command of commands) await connection.publish(command);
        });
      }),
    );
  });
}

/**
 * A Discover request made ready: its details and properties parsed (or refused, naming the
 * key), and the live discovery they ask for.
 */
export function prepareLiveDiscovery(
  request: DiscoveryRequest,
  options: Omit<LiveDiscoveryOptions, "details" | "credentials">,
): PreparedDiscovery {
  const parsed = parseDiscoveryDetails(request.details);
  if (!parsed.ok) return parsed;
  const credentials = parseBrokerCredentials(request.properties);
  if (!credentials.ok) return { ok: false, error: `discoveryProperties: ${credentials.error}` };
  const { details } = parsed;
  return {
    ok: true,
    warnings: [...parsed.warnings, ...credentials.warnings],
    about: {
      mode: details.mode,
      serverUrls: details.serverUrls,
      configurationName: details.configurationName,
    },
    outputs$: liveDiscovery({ ...options, details, credentials: credentials.credentials }),
  };
}
