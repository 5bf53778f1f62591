import { defer, EMPTY, finalize, merge, type Observable, Subject } from "rxjs";
import type { BrokerDetails } from "../discovery/details.js";
import type { DiscoveryCommand } from "../discovery/discoverer.js";
import type { DiscoveryRequest, PreparedDiscovery } from "../discovery/discovery-request.js";
import { DiscoveryEngine, type EngineOutput } from "../discovery/engine.js";
import type { EmitterTiming } from "../discovery/list-emitter.js";
import type { ModeOptions } from "../discovery/mode.js";
import { type DiscoveryDetails, discovererFor, parseDiscoveryDetails } from "../discovery/modes/modes.js";
import {
  type BrokerConnection,
  type ConnectionSettings,
  maxPacketBytesFor,
  type Will,
} from "../mqtt/connection.js";
import { type ConnectionPool, connectionPool } from "../mqtt/connection-pool.js";
import { type BrokerCredentials, parseBrokerCredentials } from "../mqtt/credentials.js";
import { runDiscovery } from "./discovery-pipeline.js";
import { commandTargets, type ReadingRequest, sharedReadingsOf } from "./shared-readings.js";

/*
 * Live discovery against the brokers of a discoveryDetails: a pooled connection to each
 * (several brokers are all connected at once), the engine's subscriptions on every one,
 * commands published back where they belong (a rebirth request to its node's broker, STATE
 * to each), and a clean exit: the last discovery on a connection publishes the host's STATE
 * death there before disconnecting.
 */

export interface LiveDiscoveryOptions {
  details: DiscoveryDetails;
  /** What every broker gets. */
  credentials: BrokerCredentials;
  /** Named brokers' own credentials (merged over the shared ones). */
  byBroker?: ReadonlyMap<string, BrokerCredentials>;
  /**
   * Who this process is on the broker: its client id is `<clientId>-<suffix>` and its STATE
   * host id (the mode derives it: Sparkplug's is `<sparkplug.hostId>-<hostSuffix ?? suffix>`). Each command says it (a handler: its node's
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
  host?: ModeOptions["host"];
  /** Sees the connections once made (for /devices: which brokers are connected). */
  onConnections?: (connections: readonly BrokerConnection[]) => void;
  /** How long each list took to deliver, ms (see PreparedDiscovery.delivered). */
  delivered$?: Observable<number>;
}

function connectionSettings(
  options: LiveDiscoveryOptions,
  broker: BrokerDetails,
  will: Will | undefined,
): ConnectionSettings {
  const { details } = options;
  const given = (broker.name && options.byBroker?.get(broker.name)) || options.credentials;
  // A login written in the broker's URL (the reference handler's mqttBrokerUri) yields to discoveryProperties.
  const credentials = broker.login === undefined ? given : { ...broker.login, ...given };
  return {
    serverUrls: broker.serverUrls,
    clientId: `${details.clientId}-${options.suffix}`,
    mqttVersion: details.mqttVersion,
    credentials,
    will,
    maxPacketBytes: maxPacketBytesFor(details.maxPayloadBytes),
    ...options.connection,
  };
}

function modeOptions(options: LiveDiscoveryOptions): ModeOptions {
  return { suffix: options.hostSuffix ?? options.suffix, ...(options.host ? { host: options.host } : {}) };
}

/** What a discovery brings to the reading it would share. */
function readingRequest(options: LiveDiscoveryOptions): ReadingRequest {
  const { details } = options;
  return {
    details,
    modeOptions: modeOptions(options),
    credentials: details.brokers.map((b) => connectionSettings(options, b, undefined).credentials),
    clientId: `${details.clientId}-${options.suffix}`,
  };
}

/**
 * Discovers live; every engine output as it happens. Unsubscribing releases the connections.
 * With `shared`, a mode that can share a reading (Sparkplug: a host session) joins the one
 * of its brokers and key, as a view of its own (streams/shared-readings.ts).
 */
export function liveDiscovery(
  options: LiveDiscoveryOptions & { shared?: boolean },
): Observable<EngineOutput> {
  const pool = options.pool ?? connectionPool;
  if (options.shared && sharedReadingsOf(pool).shares(options.details)) return sharedDiscovery(options, pool);
  return defer(() => {
    const { details } = options;
    const discoverer = discovererFor(details, modeOptions(options));
    const engine = new DiscoveryEngine(discoverer, {
      maxPayloadBytes: details.maxPayloadBytes,
      ...(options.timing ? { timing: options.timing } : {}),
    });
    const pooled = details.brokers.map((broker) =>
      pool.acquire(connectionSettings(options, broker, discoverer.will)),
    );
    const connections = pooled.map((p) => p.connection);
    for (const connection of connections) connection.subscribe(engine.subscriptions);
    options.onConnections?.(connections);
    const targets = (command: DiscoveryCommand) => commandTargets(connections, command);
    const publish = (command: DiscoveryCommand) => {
      for (const connection of targets(command)) void connection.publish(command);
    };
    return runDiscovery(engine, {
      messages$:
        connections.length === 1 ? connections[0]!.messages$ : merge(...connections.map((c) => c.messages$)),
      status$: merge(...connections.map((c) => c.status$)),
      publish,
      ...(options.delivered$ ? { delivered$: options.delivered$ } : {}),
    }).pipe(
      finalize(() => {
        for (const connection of connections) connection.unsubscribe(engine.subscriptions);
        // Our STATE death on each broker, once: where a connection is left to other discoveries, they stay online.
        const { commands } = engine.step({ kind: "shutdown" }, Date.now());
        for (const [i, held] of pooled.entries()) {
          const connection = connections[i]!;
          void held.release(async () => {
            for (const command of commands)
              if (targets(command).includes(connection)) await connection.publish(command);
          });
        }
      }),
    );
  });
}

/** A discovery as a view of a shared reading: its engine lists on its own timing, woken by the reading. */
function sharedDiscovery(options: LiveDiscoveryOptions, pool: ConnectionPool): Observable<EngineOutput> {
  return defer(() => {
    const { details } = options;
    const joined = sharedReadingsOf(pool).join(readingRequest(options), (will) =>
      details.brokers.map((broker) => pool.acquire(connectionSettings(options, broker, will))),
    );
    const engine = new DiscoveryEngine(joined.view, {
      maxPayloadBytes: details.maxPayloadBytes,
      ...(options.timing ? { timing: options.timing } : {}),
    });
    options.onConnections?.(joined.connections);
    return runDiscovery(engine, {
      messages$: EMPTY,
      wake$: joined.wake$,
      status$: merge(...joined.connections.map((c) => c.status$)),
      ...(options.delivered$ ? { delivered$: options.delivered$ } : {}),
    }).pipe(finalize(() => joined.leave()));
  });
}

/**
 * A Discover request made ready: its details and properties parsed (or refused, naming the
 * key), and the live discovery they ask for.
 */
export function prepareLiveDiscovery(
  request: DiscoveryRequest,
  options: Omit<LiveDiscoveryOptions, "details" | "credentials" | "byBroker" | "onConnections">,
): PreparedDiscovery {
  const parsed = parseDiscoveryDetails(request.details);
  if (!parsed.ok) return parsed;
  const { details } = parsed;
  const names = details.brokers.flatMap((b) => (b.name === undefined ? [] : [b.name]));
  const credentials = parseBrokerCredentials(request.properties, names);
  if (!credentials.ok) return { ok: false, error: `discoveryProperties: ${credentials.error}` };
  const live: LiveDiscoveryOptions = {
    ...options,
    details,
    credentials: credentials.credentials,
    byBroker: credentials.byBroker,
  };
  // Refused now if it differs from the shared reading it would join (and again when it joins).
  const readings = sharedReadingsOf(options.pool ?? connectionPool);
  const refused = readings.shares(details) ? readings.refusal(readingRequest(live)) : undefined;
  if (refused !== undefined) return { ok: false, error: refused };
  let connections: readonly BrokerConnection[] = [];
  const delivered = new Subject<number>();
  return {
    ok: true,
    warnings: [...parsed.warnings, ...credentials.warnings],
    about: {
      mode: details.mode,
      configurationName: details.configurationName,
      inventoryAccess: details.inventoryAccess,
      brokers: () =>
        details.brokers.map((b) => {
          const problem = connections.find((c) => c.uri === b.uri && c.problem !== undefined)?.problem;
          return {
            uri: b.uri,
            connected: connections.some((c) => c.uri === b.uri && c.isOnline),
            ...(problem === undefined ? {} : { problem }),
          };
        }),
    },
    outputs$: liveDiscovery({
      ...live,
      shared: true,
      onConnections: (made) => {
        connections = made;
      },
      delivered$: delivered,
    }),
    delivered: (ms) => delivered.next(ms),
  };
}
