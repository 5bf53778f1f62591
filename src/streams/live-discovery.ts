import { defer, finalize, type Observable } from "rxjs";
import type { DiscoveryDetails } from "../discovery/details.js";
import { DiscoveryEngine, type EngineOptions, type EngineOutput } from "../discovery/engine.js";
import type { EmitterTiming } from "../discovery/list-emitter.js";
import { type ConnectionSettings, maxPacketBytesFor, type Will } from "../mqtt/connection.js";
import { type ConnectionPool, connectionPool } from "../mqtt/connection-pool.js";
import type { BrokerCredentials } from "../mqtt/credentials.js";
import { stateWill } from "../sparkplug/host/host-state.js";
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
  /** Receives the engine once created (for /devices and tests). */
  onEngine?: (engine: DiscoveryEngine) => void;
  /** Called for each device as it is listed (the Akri layer pre-encodes it). */
  onListed?: EngineOptions["onListed"];
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: EngineOptions["host"];
}

/** This process's Sparkplug host id: its STATE Will and its STATE birth must name the same host. */
function hostIdOf(options: LiveDiscoveryOptions): string {
  return `${options.details.sparkplug.hostId}-${options.hostSuffix ?? options.suffix}`;
}

/** The host's STATE death as the Will, with each CONNECT's moment as its timestamp. */
function stateDeathWill(hostId: string): Will {
  const { topic, qos, retain } = stateWill(hostId, 0);
  return { topic, qos, retain, payload: (connectedAt) => stateWill(hostId, connectedAt).payload };
}

function connectionSettings(options: LiveDiscoveryOptions): ConnectionSettings {
  const { details } = options;
  const sparkplugHost = details.mode === "sparkplug" && details.sparkplug.publishState;
  return {
    serverUrls: details.serverUrls,
    clientId: `${details.clientId}-${options.suffix}`,
    mqttVersion: details.mqttVersion,
    credentials: options.credentials,
    will: sparkplugHost ? stateDeathWill(hostIdOf(options)) : undefined,
    maxPacketBytes: maxPacketBytesFor(details.maxPayloadBytes),
    ...options.connection,
  };
}

/** Discovers live; every engine output as it happens. Unsubscribing releases the connection. */
export function liveDiscovery(options: LiveDiscoveryOptions): Observable<EngineOutput> {
  return defer(() => {
    const settings = connectionSettings(options);
    const engine = new DiscoveryEngine(options.details, {
      hostId: hostIdOf(options),
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
