import type { InventoryAccess } from "../discovery/details.js";
import { collisionsUnlisted, instanceName, sortDevices, type UnlistedEntity } from "../discovery/device.js";
import { InventoryCache, liveFingerprint } from "./inventory-cache.js";
import type { ActiveStream, StreamRegistry } from "./stream-registry.js";

/*
 * GET /devices: each open stream's last list as JSON; with ?all=true, also every entity seen
 * but not listed, with why (its discovery's reasons, and the Akri layer's own: ids whose
 * instance hash collides, devices cut to fit the agent's message limit), and every entity's
 * facts. Built again only when what it shows has changed (see inventory-cache.ts).
 */

export class StreamInventory {
  private readonly cache = new InventoryCache();

  constructor(
    private readonly streams: StreamRegistry,
    /** The agent's message limit the lists are cut to (named in the over-size reason). */
    private readonly maxBytes: number,
  ) {}

  /**
   * The body of GET /devices for a client of the pod's own loopback (every stream) or of the
   * cluster (only the streams whose Configuration opened it to the cluster).
   */
  json(all: boolean, client: InventoryAccess): string {
    const streams = this.streams.visibleTo(client);
    return this.cache.get(
      `${client}${all ? "/all" : ""}`,
      `${this.streams.version}/${liveFingerprint(streams)}`,
      () => {
        const inventory = this.inventory(streams, all);
        // ?all=true is for the page and tools, and large (a few MB at 10,000 devices): compact.
        return `${all ? JSON.stringify(inventory) : JSON.stringify(inventory, null, 2)}\n`;
      },
    );
  }

  private inventory(streams: readonly ActiveStream[], all: boolean): unknown {
    return streams.map((stream) => {
      const { configurationName: configuration, mode } = stream.about;
      return {
        stream: stream.id,
        since: new Date(stream.startedAt).toISOString(),
        mode,
        brokers: stream.about.brokers(),
        lastListAt: stream.lastSent ? new Date(stream.lastSent.at).toISOString() : null,
        // What the agent got: a device cut to fit its limit is unlisted, with why (below).
        devices: (stream.lastSent?.devices ?? []).slice(0, this.sentCount(stream)).map((d) => {
          // Hashed once per id (each is ~10 µs: a 10,000-device page would pay it every poll).
          const hash = stream.hashes.hash(d.id);
          return {
            id: d.id,
            kind: d.kind,
            status: stream.lastSent?.statusOf(d.id) ?? "offline",
            broker: stream.lastSent?.brokerOf(d.id) ?? null,
            instanceHash: hash,
            instanceName: instanceName(configuration ?? "<configuration>", d.id, hash),
            properties: d.properties,
            ...(all ? { facts: stream.lastSent?.factsOf(d.id) ?? {} } : {}),
          };
        }),
        ...(all
          ? {
              unlisted: this.unlisted(stream).map((u) => ({
                ...u,
                facts: stream.lastSent?.factsOf(u.id) ?? {},
              })),
            }
          : {}),
      };
    });
  }

  /** How many devices of the last list went to the agent (the rest were cut). */
  private sentCount(stream: ActiveStream): number {
    return (stream.lastSent?.devices.length ?? 0) - stream.cut.length;
  }

  private unlisted(stream: ActiveStream): UnlistedEntity[] {
    const sent = stream.lastSent;
    if (!sent) return [];
    const akri = collisionsUnlisted(stream.collisions, sent.devices, sent.statusOf);
    for (const device of stream.cut) {
      akri.push({
        id: device.id,
        kind: device.kind,
        status: sent.statusOf(device.id) ?? "offline",
        reason: {
          code: "over-size-limit",
          message: `cut from a list of ${sent.devices.length} devices over the agent's ${this.maxBytes}-byte message limit (split the Configuration, e.g. per group)`,
        },
      });
    }
    return sortDevices([...akri, ...sent.unlisted()]);
  }
}
