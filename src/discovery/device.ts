import blake from "blakejs";

/** The properties discovery sets itself (design.md §5); property mappings cannot use these names. */
export const STANDARD_PROPERTIES: ReadonlySet<string> = new Set([
  "MQTT_BROKER_URI",
  "SPARKPLUG_GROUP_ID",
  "SPARKPLUG_EDGE_NODE_ID",
  "SPARKPLUG_DEVICE_ID",
  "SPARKPLUG_DATA_TOPIC",
  "MQTT_TOPIC",
  "MQTT_DEVICE_ID",
]);

/** A device as Akri receives it: a stable id and env-safe properties (no volatile values, no secrets). */
export interface AkriDevice {
  id: string;
  properties: Record<string, string>;
}

/** What discovery knows about a listed device beyond what Akri needs (for tables and /devices). */
export interface DiscoveredDevice extends AkriDevice {
  kind: "sparkplug-device" | "sparkplug-node" | "topic";
  /** Listed while online; an offline device stays listed during offlineGraceSeconds. */
  status: "online" | "offline" | "stale";
}

/**
 * Akri's instance name for a shared device: `<configuration>-<6 hex>`, the hex being a
 * BLAKE2b digest of 3 bytes of the id (a digest parameterised to 3 bytes, not a truncated
 * 64-byte one), as the agent computes it.
 */
export function instanceName(configuration: string, id: string): string {
  return `${configuration}-${deviceHash(id)}`;
}

export function deviceHash(id: string): string {
  return blake.blake2bHex(Buffer.from(id, "utf8"), undefined, 3);
}

/** Sorts devices by id (code-unit order: stable and the same on every node). */
export function sortDevices<T extends AkriDevice>(devices: T[]): T[] {
  return devices.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** True when two devices would look the same to Akri (id and properties). */
export function sameAkriDevice(a: AkriDevice, b: AkriDevice): boolean {
  if (a.id !== b.id) return false;
  const aKeys = Object.keys(a.properties);
  if (aKeys.length !== Object.keys(b.properties).length) return false;
  return aKeys.every((k) => a.properties[k] === b.properties[k]);
}

/**
 * Ids of `devices` whose Akri instance hash collides with an earlier one's (24 bits is
 * small). `cache` keeps hashes between calls (lists change little between sends).
 */
export function hashCollisions(
  devices: readonly AkriDevice[],
  cache?: Map<string, string>,
): [string, string][] {
  const seen = new Map<string, string>();
  const collisions: [string, string][] = [];
  for (const device of devices) {
    let hash = cache?.get(device.id);
    if (hash === undefined) {
      hash = deviceHash(device.id);
      cache?.set(device.id, hash);
    }
    const other = seen.get(hash);
    if (other !== undefined && other !== device.id) collisions.push([other, device.id]);
    else seen.set(hash, device.id);
  }
  if (cache && cache.size > 2 * devices.length + 1024) {
    const current = new Set(devices.map((d) => d.id));
    for (const id of cache.keys()) if (!current.has(id)) cache.delete(id);
  }
  return collisions;
}
