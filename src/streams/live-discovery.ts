import { hostname } from "node:os";
import { defer, finalize, type Observable } from "rxjs";
import type { BrokerCredentials } from "../discovery/broker-credentials.js";
import type { DiscoveryDetails } from "../discovery/details.js";
import { DiscoveryEngine, type EngineOptions, type EngineOutput } from "../discovery/engine.js";
import type { EmitterTiming } from "../discovery/list-emitter.js";
import { type ConnectionPool, connectionPool } from "./connection-pool.js";
import { runDiscovery } from "./discovery-pipeline.js";
import type { ConnectionSettings } from "./mqtt-connection.js";

/*
 * Live discovery against the brokers of a discoveryDetails: a pooled connection, the
 * engine's subscriptions, host commands published back (STATE birth once per connection
 * session), and a clean exit: the last discovery on a connection publishes the host's
 * STATE death before disconnecting.
 */

/** This pod's suffix for client and host ids: the Kubernetes node, else the host name. */
export function podSuffix(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.AGENT_NODE_NAME || env.HOSTNAME || hostname() || "local";
  return raw.replace(/[^A-Za-z0-9_.-]/g, "-");
}

export interface LiveDiscoveryOptions {
  details: DiscoveryDetails;
  credentials: BrokerCredentials;
  suffix?: string;
  pool?: ConnectionPool;
  timing?: EmitterTiming;
  /** Connection tuning (tests use short timeouts). */
  connection?: Partial<
    Pick<ConnectionSettings, "connectTimeoutMs" | "initialBackoffMs" | "maxBackoffMs" | "keepaliveSeconds">
  >;
  /** Receives the engine once created (for /devices and tests). */
  onEngine?: (engine: DiscoveryEngine) => void;
  /** Called for each device as it is listed (the Akri layer pre-encodes it). */
  onListed?: EngineOptions["onListed"];
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: EngineOptions["host"];
}

/** This pod's Sparkplug host id: its STATE Will and its STATE birth must name the same host. */
function podHostId(details: DiscoveryDetails, suffix: string): string {
  return `${details.sparkplug.hostId}-${suffix}`;
}

export function connectionSettings(options: LiveDiscoveryOptions, suffix: string): ConnectionSettings {
  const { details } = options;
  const sparkplugHost = details.mode === "sparkplug" && details.sparkplug.publishState;
  return {
    serverUrls: details.serverUrls,
    clientId: `${details.clientId}-${suffix}`,
    mqttVersion: details.mqttVersion,
    credentials: options.credentials,
    stateHostId: sparkplugHost ? podHostId(details, suffix) : undefined,
    // Up to twice maxPayloadBytes arrives, to be counted and skipped; larger the broker drops.
    maxPacketBytes: 2 * details.maxPayloadBytes + 65_536,
    ...options.connection,
  };
}

/** Discovers live; every engine output as it happens. Unsubscribing releases the connection. */
export function liveDiscovery(options: LiveDiscoveryOptions): Observable<EngineOutput> {
  return defer(() => {
    const suffix = options.suffix ?? podSuffix();
    const settings = connectionSettings(options, suffix);
    const engine = new DiscoveryEngine(options.details, {
      hostId: podHostId(options.details, suffix),
      ...(options.timing ? { timing: options.timing } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.onListed ? { onListed: options.onListed } : {}),
    });
    options.onEngine?.(engine);
    const pooled = (options.pool ?? connectionPool).acquire(settings);
    const { connection } = pooled;
    connection.subscribe(engine.subscriptions);
    const publish = (command: { topic: string; payload: Uint8Array; qos: 0 | 1; retain: boolean }) => {
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
