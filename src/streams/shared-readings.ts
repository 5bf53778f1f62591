import { createHash } from "node:crypto";
import { filter, map, merge, type Observable, Subject, type Subscription } from "rxjs";
import type { DiscoveryCommand, DiscoveryInput } from "../discovery/discoverer.js";
import type { ModeOptions } from "../discovery/mode.js";
import { type DiscoveryDetails, sharingFor } from "../discovery/modes/modes.js";
import { SharedReading, type SharedView } from "../discovery/shared-reading.js";
import type { BrokerConnection, Will } from "../mqtt/connection.js";
import type { ConnectionPool, PooledConnection } from "../mqtt/connection-pool.js";
import type { BrokerCredentials } from "../mqtt/credentials.js";
import { statusInput } from "./discovery-pipeline.js";
import { runReducer } from "./timed-reducer.js";

/*
 * Live shared readings (discovery/shared-reading.ts): every Discover stream whose mode can
 * share, on the same brokers under the same key (Sparkplug: its STATE host id) and as the same
 * MQTT client (client id, MQTT version, credentials), is a view of one reading over one set of
 * pooled connections. The reading has one driver (its own
 * runReducer and deadline); each view keeps its engine, list timing and report. A stream that
 * differs in a setting the reading's views must agree on is refused, naming the key; the last
 * view to leave ends the reading (its STATE death, once) and releases the connections.
 */

/** What a discovery brings to a shared reading. */
export interface ReadingRequest {
  details: DiscoveryDetails;
  modeOptions: ModeOptions;
  /** Every broker's credentials, resolved (compared only as a digest). */
  credentials: readonly BrokerCredentials[];
  /** The client id every connection uses. */
  clientId: string;
}

/** A discovery's place in a shared reading. */
export interface JoinedReading {
  view: SharedView;
  connections: readonly BrokerConnection[];
  /** Fires whenever the reading stepped something the views should see. */
  wake$: Observable<void>;
  leave(): void;
}

interface LiveReading {
  /** Who the reading is (mode and its key, e.g. the STATE host id), and as which client on each broker URL. */
  readonly identity: string;
  readonly clients: ReadonlyMap<string, string>;
  readonly settings: Record<string, unknown>;
  readonly firstName: string | undefined;
  readonly reading: SharedReading<DiscoveryDetails>;
  readonly pooled: readonly PooledConnection[];
  readonly wakes: Set<Subject<void>>;
  /** Re-arms the driver's timer when a join queued something (e.g. rebirth requests). */
  readonly nudge$: Subject<DiscoveryInput>;
  subscription: Subscription | undefined;
}

const TICK: DiscoveryInput = { kind: "tick" };

/** A command's connections: its broker's, or every one for a command for no broker in particular. */
export function commandTargets(
  connections: readonly BrokerConnection[],
  command: DiscoveryCommand,
): readonly BrokerConnection[] {
  const on = command.broker === undefined ? undefined : connections.find((c) => c.uri === command.broker);
  return on ? [on] : connections;
}

export class SharedReadings {
  private readonly byKey = new Map<string, LiveReading>();

  /** The mode and its sharing key (Sparkplug: the STATE host id): one host on any broker. */
  private identityOf(request: ReadingRequest): string | undefined {
    const sharing = sharingFor(request.details);
    if (sharing === undefined) return undefined;
    return JSON.stringify([request.details.mode, sharing.key(request.details, request.modeOptions)]);
  }

  /**
   * Who we are on the brokers: a Configuration that connects as another MQTT client (its own
   * clientId, MQTT version or credentials) has its own connections, as it always had, and so
   * its own reading. The credentials only as a digest.
   */
  private clientOf(request: ReadingRequest): string {
    const secret = createHash("sha256").update(JSON.stringify(request.credentials)).digest("hex");
    return JSON.stringify([request.clientId, request.details.mqttVersion, secret]);
  }

  private keyOf(request: ReadingRequest): string | undefined {
    const identity = this.identityOf(request);
    if (identity === undefined) return undefined;
    const brokers = request.details.brokers.map((b) => b.serverUrls);
    return JSON.stringify([identity, brokers, this.clientOf(request)]);
  }

  /** Each broker URL of the request, with who we are on it (client id, MQTT version, credentials digest). */
  private clientsByUrl(request: ReadingRequest): Map<string, string> {
    const byUrl = new Map<string, string>();
    for (const [i, broker] of request.details.brokers.entries()) {
      const secret = createHash("sha256")
        .update(JSON.stringify(request.credentials[i] ?? {}))
        .digest("hex");
      const client = JSON.stringify([request.clientId, request.details.mqttVersion, secret]);
      for (const url of broker.serverUrls) byUrl.set(url, client);
    }
    return byUrl;
  }

  /**
   * Another reading with the same identity, as the same client on a broker this request also
   * names, but with another broker list: two hosts under one host id on one broker, whose
   * STATE births and Wills would declare each other gone (Sparkplug: one host id, one host).
   * (One as another client is its own host by the README's rule, which asks for its own host id.)
   */
  private clash(request: ReadingRequest, key: string): string | undefined {
    const identity = this.identityOf(request);
    const mine = this.clientsByUrl(request);
    for (const [otherKey, live] of this.byKey) {
      if (otherKey === key || live.identity !== identity) continue;
      const shared = [...mine].find(([url, client]) => live.clients.get(url) === client)?.[0];
      if (shared === undefined) continue;
      const ownKey = sharingFor(request.details)!.ownKey;
      const other =
        live.firstName === undefined ? "another Configuration" : `Configuration ${live.firstName}`;
      const where = request.details.brokers.length > 1 ? "brokers" : "serverUrls";
      return `discoveryDetails.${where}: ${shared} is also a broker of ${other} under the same ${ownKey}, with another broker list; one ${ownKey} is one host on a broker: give both the same brokers, or give this Configuration its own ${ownKey}`;
    }
    return undefined;
  }

  /** What the views of one reading agree on: the mode's settings, and the payload limit it checks. */
  private settingsOf(request: ReadingRequest): Record<string, unknown> {
    const { details } = request;
    return { maxPayloadBytes: details.maxPayloadBytes, ...sharingFor(details)?.settings(details) };
  }

  /** Whether the details' mode shares readings at all. */
  shares(details: DiscoveryDetails): boolean {
    return sharingFor(details) !== undefined;
  }

  /** Why a discovery may not join the reading it would share (naming the key), or undefined. */
  refusal(request: ReadingRequest): string | undefined {
    const key = this.keyOf(request);
    if (key === undefined) return undefined;
    const live = this.byKey.get(key);
    if (live === undefined) return this.clash(request, key);
    const settings = this.settingsOf(request);
    const ownKey = sharingFor(request.details)!.ownKey;
    const other = live.firstName === undefined ? "another Configuration" : `Configuration ${live.firstName}`;
    const fix = `set the same value, or give this Configuration its own ${ownKey}`;
    for (const [name, value] of Object.entries(settings)) {
      const theirs = live.settings[name];
      if (JSON.stringify(theirs) === JSON.stringify(value)) continue;
      return `discoveryDetails.${name}: ${JSON.stringify(value)} differs from ${JSON.stringify(theirs)} in ${other}, which shares this ${ownKey} on these brokers (one host, one setting): ${fix}`;
    }
    return undefined;
  }

  /**
   * Joins the reading of this request, made (and its connections acquired with
   * `connect(will)`) if it is the first. Throws the refusal if it differs from the reading's.
   */
  join(request: ReadingRequest, connect: (will: Will | undefined) => PooledConnection[]): JoinedReading {
    const key = this.keyOf(request);
    const sharing = sharingFor(request.details);
    if (key === undefined || sharing === undefined)
      throw new Error(`mode ${request.details.mode} shares nothing`);
    const refused = this.refusal(request);
    if (refused !== undefined) throw new Error(refused);
    let live = this.byKey.get(key);
    if (live === undefined) {
      const reader = sharing.reader(request.details, request.modeOptions);
      live = {
        identity: this.identityOf(request)!,
        clients: this.clientsByUrl(request),
        settings: this.settingsOf(request),
        firstName: request.details.configurationName,
        reading: new SharedReading(reader, request.details.maxPayloadBytes),
        pooled: connect(reader.will),
        wakes: new Set(),
        nudge$: new Subject(),
        subscription: undefined,
      };
      this.byKey.set(key, live);
    }
    const held = live;
    const connections = held.pooled.map((p) => p.connection);
    const commands: DiscoveryCommand[] = [];
    const view = held.reading.join(request.details, Date.now(), commands);
    for (const connection of connections) connection.subscribe(view.subscriptions);
    const wake = new Subject<void>();
    held.wakes.add(wake);
    if (held.subscription === undefined) held.subscription = this.drive(held, connections);
    this.publish(connections, commands);
    held.nudge$.next({ kind: "tick" });
    let left = false;
    return {
      view,
      connections,
      wake$: wake,
      leave: () => {
        if (left) return;
        left = true;
        held.wakes.delete(wake);
        wake.complete();
        for (const connection of connections) connection.unsubscribe(view.subscriptions);
        held.reading.leave(view);
        if (held.reading.size === 0) this.end(key, held, connections);
      },
    };
  }

  private publish(connections: readonly BrokerConnection[], commands: readonly DiscoveryCommand[]): void {
    for (const command of commands)
      for (const connection of commandTargets(connections, command)) void connection.publish(command);
  }

  /** The reading's one driver: its inputs and deadlines; commands out once, views woken. */
  private drive(live: LiveReading, connections: readonly BrokerConnection[]): Subscription {
    const inputs$ = merge(
      ...connections.map((c) =>
        c.status$.pipe(
          map(statusInput),
          filter((input): input is DiscoveryInput => input !== undefined),
        ),
      ),
      ...connections.map((c) =>
        c.messages$.pipe(map((message): DiscoveryInput => ({ kind: "message", message }))),
      ),
      live.nudge$,
    );
    return runReducer(live.reading, inputs$, TICK).subscribe((step) => {
      if (step.commands.length > 0) this.publish(connections, step.commands);
      if (step.woke) for (const wake of live.wakes) wake.next();
    });
  }

  /** The last view left: the reading's STATE death on each broker, once, then the connections go. */
  private end(key: string, live: LiveReading, connections: readonly BrokerConnection[]): void {
    this.byKey.delete(key);
    live.subscription?.unsubscribe();
    live.nudge$.complete();
    const { commands } = live.reading.step({ kind: "shutdown" }, Date.now());
    for (const [i, held] of live.pooled.entries()) {
      const connection = connections[i]!;
      void held.release(async () => {
        for (const command of commands)
          if (commandTargets(connections, command).includes(connection)) await connection.publish(command);
      });
    }
  }
}

const byPool = new WeakMap<ConnectionPool, SharedReadings>();

/** The shared readings over a pool's connections (one set per pool). */
export function sharedReadingsOf(pool: ConnectionPool): SharedReadings {
  let readings = byPool.get(pool);
  if (readings === undefined) {
    readings = new SharedReadings();
    byPool.set(pool, readings);
  }
  return readings;
}
