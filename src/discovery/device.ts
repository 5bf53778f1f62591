import blake from "blakejs";

/** A device as Akri receives it: a stable id and env-safe properties (no volatile values, no secrets). */
export interface AkriDevice {
  id: string;
  properties: Record<string, string>;
}

/**
 * What discovery knows about a listed device beyond what Akri needs (for tables and /devices).
 * Where it is now (its broker, its status) is not here: a listed device never changes while
 * it is listed (every node's agent would conflict applying the change), so that is read
 * from the mode's model when asked (`Discoverer.brokerOf`, `statusOf`).
 */
export interface DiscoveredDevice extends AkriDevice {
  /** A kind its mode declares (`kindLabels` of its mode.ts): "sparkplug-node", "topic", … */
  kind: string;
}

/**
 * How a listed device is doing, read from its mode's model when asked (never stored with
 * the device): online; stale (not heard from since our broker connection came back, or
 * waiting for its birth); offline (dead or idle, kept listed during offlineGraceSeconds).
 */
export type DeviceStatus = "online" | "offline" | "stale";

/**
 * Why an entity that discovery has seen is not in the list (`/devices?all=true`,
 * `discover --explain`, the fleet page). The set is documented in the README:
 *   excluded-by-filter      a groupIds / edgeNodeIds / deviceIds FilterList leaves it out
 *   in-another-shard        sparkplug.shard: its edge node is in another shard of the plant
 *   not-discovered-kind     `discover: nodes` or `devices` lists the other kind only
 *   birth-metrics-mismatch  a birthMetrics selector does not match its birth
 *   awaiting-birth          DATA seen but no birth yet (a rebirth is requested), or a node
 *                           was reborn and the device has not sent its DBIRTH again
 *   offline                 dead (or idle) and past offlineGraceSeconds
 *   unmatched-topic         generic: the deviceId template does not match the topic
 *   retained-too-old        generic: only a retained message older than idleTimeoutSeconds
 *   payload-not-matched     generic, reference: its payloads do not contain payloadRegexp (messageRegexp)
 *   instance-hash-collision its id has the Akri instance hash of another listed id
 *   over-size-limit         cut from a list over the agent's 4 MiB message limit
 */
export type UnlistedCode =
  | "excluded-by-filter"
  | "in-another-shard"
  | "not-discovered-kind"
  | "birth-metrics-mismatch"
  | "awaiting-birth"
  | "offline"
  | "unmatched-topic"
  | "retained-too-old"
  | "payload-not-matched"
  | "instance-hash-collision"
  | "over-size-limit";

/** An entity seen but not listed, and why (`message` names the filter, selector or metric). */
export interface UnlistedEntity {
  id: string;
  kind: DiscoveredDevice["kind"];
  /** online, stale, offline, or awaiting-birth. */
  status: DeviceStatus | "awaiting-birth";
  reason: { code: UnlistedCode; message: string };
}

/** The second id of each pair that shares an instance hash, as unlisted (Akri keeps one instance). */
export function collisionsUnlisted(
  pairs: readonly [string, string][],
  devices: readonly DiscoveredDevice[],
  statusOf: (id: string) => DeviceStatus | undefined,
): UnlistedEntity[] {
  return pairs.map(([kept, lost]) => ({
    id: lost,
    kind: devices.find((d) => d.id === lost)?.kind ?? "topic",
    status: statusOf(lost) ?? "offline",
    reason: {
      code: "instance-hash-collision",
      message: `its Akri instance hash ${deviceHash(lost)} is also that of ${kept}: Akri keeps one instance for both`,
    },
  }));
}

/**
 * Akri's instance name for a shared device: `<configuration>-<6 hex>`, the hex being a
 * BLAKE2b digest of 3 bytes of the id (a digest parameterised to 3 bytes, not a truncated
 * 64-byte one), as the agent computes it.
 */
export function instanceName(configuration: string, id: string, hash = deviceHash(id)): string {
  return `${configuration}-${hash}`;
}

export function deviceHash(id: string): string {
  return blake.blake2bHex(Buffer.from(id, "utf8"), undefined, 3);
}

/** Sorts devices by id (code-unit order: stable and the same on every node). */
export function sortDevices<T extends { id: string }>(devices: T[]): T[] {
  return devices.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** True when two devices would look the same to Akri (id and properties). */
export function sameAkriDevice(a: AkriDevice, b: AkriDevice): boolean {
  if (a === b) return true;
  if (a.id !== b.id) return false;
  const aKeys = Object.keys(a.properties);
  if (aKeys.length !== Object.keys(b.properties).length) return false;
  return aKeys.every((k) => a.properties[k] === b.properties[k]);
}

/**
 * Akri instance hashes of listed ids, to warn about collisions (24 bits is small: ~3 %
 * chance of one at 1,000 devices). Each id is hashed once (~10 µs), and a list is
 * checked in time proportional to the collisions seen, not to its length.
 */
export class InstanceHashes {
  private readonly hashOf = new Map<string, string>();
  private readonly idsOf = new Map<string, string[]>();
  private readonly collided = new Set<string>();

  /** The instance hash of an id, hashed once (then remembered with the others). */
  hash(id: string): string {
    this.add(id);
    return this.hashOf.get(id)!;
  }

  /** Hashes a newly listed id. */
  add(id: string): void {
    if (this.hashOf.has(id)) return;
    const hash = deviceHash(id);
    this.hashOf.set(id, hash);
    const ids = this.idsOf.get(hash);
    if (ids === undefined) {
      this.idsOf.set(hash, [id]);
    } else {
      ids.push(id);
      this.collided.add(hash);
    }
  }

  /**
   * Hashes the ids of `devices` not hashed yet a slice at a time, yielding to other work
   * between slices (a thousand new ids at once would hold a busy handler up for ~10 ms),
   * then the pairs that share a hash.
   */
  async collisionsInSlices(devices: readonly AkriDevice[], slice = 100): Promise<[string, string][]> {
    let hashed = 0;
    for (const device of devices) {
      if (this.hashOf.has(device.id)) continue;
      this.add(device.id);
      if (++hashed % slice === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return this.collisions(devices);
  }

  /** Pairs of ids in `devices` that share an instance hash (all of them hashed). */
  collisions(devices: readonly AkriDevice[]): [string, string][] {
    if (this.hashOf.size > 2 * devices.length + 1024) this.forgetAllBut(devices);
    if (this.collided.size === 0) return [];
    const listed = new Set(devices.map((d) => d.id));
    const pairs: [string, string][] = [];
    for (const hash of this.collided) {
      const present = (this.idsOf.get(hash) ?? []).filter((id) => listed.has(id));
      for (let i = 1; i < present.length; i++) pairs.push([present[0]!, present[i]!]);
    }
    return pairs;
  }

  private forgetAllBut(devices: readonly AkriDevice[]): void {
    this.hashOf.clear();
    this.idsOf.clear();
    this.collided.clear();
    for (const device of devices) this.add(device.id);
  }
}
