import { createHash, randomBytes } from "node:crypto";
import { BrokerConnection, type ConnectionSettings } from "./connection.js";
import { RefCounts } from "./ref-counts.js";

/*
 * One connection per broker set and settings, shared by every discovery that uses the
 * same ones (Akri calls Discover once per Configuration, and again after re-registrations)
 * and closed when the last one leaves.
 */

export interface PooledConnection {
  connection: BrokerConnection;
  /** Leaves the connection; `lastOut` runs first if this was its last user (e.g. to publish STATE death). */
  release(lastOut?: () => Promise<void>): Promise<void>;
}

function keyOf(settings: ConnectionSettings): string {
  // Credentials are part of the identity but are only kept as a digest.
  const secret = createHash("sha256").update(JSON.stringify(settings.credentials)).digest("hex");
  return JSON.stringify([
    settings.serverUrls,
    settings.clientId,
    settings.mqttVersion,
    settings.will?.topic ?? null,
    secret,
    settings.keepaliveSeconds ?? null,
    settings.connectTimeoutMs ?? null,
    settings.maxPacketBytes ?? null,
  ]);
}

export class ConnectionPool {
  private readonly byKey = new Map<string, BrokerConnection>();
  private readonly users = new RefCounts<string>();
  private readonly closing = new Set<Promise<void>>();

  /** `onConnection` sees each new connection once (metrics). */
  constructor(private readonly onConnection?: (connection: BrokerConnection) => void) {}

  acquire(settings: ConnectionSettings): PooledConnection {
    const key = keyOf(settings);
    let connection = this.byKey.get(key);
    if (!connection) {
      connection = new BrokerConnection(this.uniqueClientId(settings));
      this.byKey.set(key, connection);
      this.onConnection?.(connection);
    }
    this.users.add(key);
    const held = connection;
    let released = false;
    return {
      connection: held,
      release: async (lastOut) => {
        if (released) return;
        released = true;
        if (!this.users.remove(key)) return;
        this.byKey.delete(key);
        const closed = (async () => {
          if (lastOut) await lastOut().catch(() => undefined);
          await held.close();
        })();
        this.closing.add(closed);
        await closed;
        this.closing.delete(closed);
      },
    };
  }

  /**
   * Two Discover calls whose settings differ (MQTT version, host id, credentials) need two
   * connections, and a broker lets only one session hold a client id: the second would
   * take it over and the two would throw each other off forever. The first keeps the
   * plain id; any other gets a random suffix.
   */
  private uniqueClientId(settings: ConnectionSettings): ConnectionSettings {
    // Only where the brokers are the same: one client id on two independent brokers is no clash.
    const taken = [...this.byKey.values()].some(
      (c) =>
        c.settings.clientId === settings.clientId &&
        c.settings.serverUrls.some((url) => settings.serverUrls.includes(url)),
    );
    if (!taken) return settings;
    // Random, not derived from the settings: those include the credentials.
    const tag = randomBytes(3).toString("hex");
    return { ...settings, clientId: `${settings.clientId}-${tag}` };
  }

  /** Resolves once every connection being released has closed (its STATE death sent). */
  async settled(): Promise<void> {
    await Promise.all([...this.closing]);
  }

  /** Open connections (for /metrics). */
  get size(): number {
    return this.byKey.size;
  }

  connections(): BrokerConnection[] {
    return [...this.byKey.values()];
  }
}

/** The process-wide pool. */
export const connectionPool = new ConnectionPool();
