import type { InventoryAccess } from "../discovery/details.js";
import { type DiscoveredDevice, InstanceHashes } from "../discovery/device.js";
import type { PreparedDiscovery } from "../discovery/discovery-request.js";
import type { DeviceListEmission } from "../discovery/engine.js";

/*
 * The open Discover streams (and the demo's own discovery), each with the last list it sent:
 * what /devices, the fleet page, /events' access check and the device gauges read. The gRPC
 * service opens and closes them; it alone writes to the agent.
 */

/** One open Discover stream, for /devices and /metrics. */
export interface ActiveStream {
  id: number;
  startedAt: number;
  about: Extract<PreparedDiscovery, { ok: true }>["about"];
  /** The last list sent: what the agent has, and what /devices and the device gauge show. */
  lastSent: DeviceListEmission | undefined;
  /** Ends its discovery (releasing its broker connection). */
  close: (reason: string) => void;
  /** The Akri instance hashes of its devices, to warn about collisions. */
  hashes: InstanceHashes;
  /** The devices the last list had to leave out to fit the agent's limit. */
  cut: readonly DiscoveredDevice[];
  /** Pairs of listed ids that share an instance hash (Akri keeps one of each), from the last list. */
  collisions: readonly [string, string][];
}

/** A stream's Configuration name for metric labels (its discoveryDetails' configurationName, else the stream). */
export function configurationOf(stream: ActiveStream): string {
  return stream.about.configurationName ?? `stream-${stream.id}`;
}

export class StreamRegistry {
  private nextId = 1;
  private readonly streams = new Map<number, ActiveStream>();
  /**
   * Counts what the streams produced that /devices shows: streams opened and closed, and
   * whatever `changed()` is told of (the inventory cache's key).
   */
  private changes = 0;

  /** Open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Open streams, in the order they opened. */
  all(): IterableIterator<ActiveStream> {
    return this.streams.values();
  }

  has(id: number): boolean {
    return this.streams.has(id);
  }

  /** Registers a new stream, its `close` a no-op until its runner sets it. */
  open(about: ActiveStream["about"]): ActiveStream {
    const stream: ActiveStream = {
      id: this.nextId++,
      startedAt: Date.now(),
      about,
      lastSent: undefined,
      close: () => undefined,
      hashes: new InstanceHashes(),
      cut: [],
      collisions: [],
    };
    this.streams.set(stream.id, stream);
    this.changes++;
    return stream;
  }

  /** Forgets a closed stream. */
  remove(id: number): void {
    this.streams.delete(id);
    this.changes++;
  }

  /** Something a stream produced changed what /devices shows. */
  changed(): void {
    this.changes++;
  }

  /** How many changes /devices has seen (it changes whenever what /devices shows may have). */
  get version(): number {
    return this.changes;
  }

  /** The streams a client may see: every one from the pod's loopback, else those opened to the cluster. */
  visibleTo(client: InventoryAccess): ActiveStream[] {
    return [...this.streams.values()].filter(
      (s) => client === "loopback" || s.about.inventoryAccess === "cluster",
    );
  }

  /** Whether a stream's Configuration opened its inventory to clients off the pod's loopback. */
  openToCluster(stream: number): boolean {
    return this.streams.get(stream)?.about.inventoryAccess === "cluster";
  }

  /** Whether any open stream's Configuration did. */
  anyOpenToCluster(): boolean {
    for (const stream of this.streams.values()) if (stream.about.inventoryAccess === "cluster") return true;
    return false;
  }
}
