import { createHash } from "node:crypto";
import type { HostEvent } from "../../sparkplug/host/events.js";
import { type Device, type EdgeNode, nodeKey } from "../../sparkplug/host/model.js";
import type { MetricTable } from "../../sparkplug/metric-table.js";
import { entityId } from "../../sparkplug/topic.js";
import { earlier } from "../../time/deadline.js";
import type { BrokerProperties } from "../broker-properties.js";
import {
  type DeviceStatus,
  type DiscoveredDevice,
  sameAkriDevice,
  sortDevices,
  type UnlistedEntity,
} from "../device.js";
import { shouldInclude } from "../filter-list.js";
import { propertyValue, selected } from "./birth-selectors.js";
import type { SparkplugDetails } from "./details.js";
import { unlistedEntities } from "./explain.js";
import { inShard } from "./shard.js";

/*
 * From the host model to Akri devices (design.md §5): which edge nodes and devices are
 * listed (`discover`, FilterLists, the shard, birthMetrics selectors), with which id and
 * properties. This is the Configuration's view of the plant: the host session tracks every
 * node whatever the view keeps.
 * Kept incrementally: a lifecycle event refreshes only the entries of its edge node, so a
 * 100,000-device plant costs per change, not per message.
 *
 * A listed device's properties are the same on every node and never change while it is
 * listed: every node's agent applies the shared Instance with server-side apply and no
 * force, so a changed property is a 409 on every node, forever (reference/akri.md §3). So
 * the broker properties come from the Configuration alone (where a node is now is
 * `brokerOf`, for /devices), and mapped birth values are part of the device's identity:
 * with `sparkplug.properties`, the id ends in `#` and 8 hex digits of the mapped values, so
 * a rebirth that changes one lists a new id (a new Instance) and the old one leaves. Every
 * node, even one whose handler starts after the change, computes the same id from the same
 * birth. (`#` cannot occur in a Sparkplug id: it is an MQTT wildcard.)
 */

export interface InventoryOptions {
  /** The brokers' identities (their serverUrls, comma-joined), in the order the details give them. */
  brokers: readonly string[];
  /** The broker properties every entity gets, from the Configuration. */
  brokerProperties: BrokerProperties;
  sparkplug: SparkplugDetails;
  offlineGraceSeconds: number;
  /** The host model's edge nodes, by node key: where each listed entity's status is read. */
  nodes: ReadonlyMap<string, EdgeNode>;
  /** A node born before this (host time) is not listed: its birth lacks values this inventory reads. */
  birthsFrom?: number;
}

interface Entry {
  device: DiscoveredDevice;
  /** `<group>/<edge>` of the node it belongs to. */
  node: string;
  /** While offline and kept for the grace period: when to drop it (host time). */
  expiresAt: number | undefined;
  /**
   * What the device was built from (the births whose values it maps): while they are the
   * same objects, a refresh of its node reuses it instead of building it again. (Two fields,
   * not a tuple: an array a device is 80 bytes at 100,000 devices.)
   */
  builtFromNode: unknown;
  builtFromDevice: unknown;
}

/** Where a mapped device's identity suffix starts (`#`, never part of a Sparkplug id). */
const SUFFIX = "#";

/** The entry key (the Sparkplug entity id) of a listed id, which may carry the mapped values' suffix. */
function entityKey(id: string): string {
  const at = id.indexOf(SUFFIX);
  return at < 0 ? id : id.slice(0, at);
}

/** The Sparkplug device id of a listed device (undefined for an edge node). */
function deviceIdOf(device: DiscoveredDevice): string | undefined {
  return device.kind === "sparkplug-device" ? device.properties.SPARKPLUG_DEVICE_ID : undefined;
}

/**
 * What the fleet page shows of a node beyond the host model (which has its birth, bdSeq and
 * death): seq gaps and our rebirth requests. Made only for a node that has had one.
 */
interface NodeTrouble {
  seqGaps: number;
  rebirths: number;
  lastRebirthAt: number | undefined;
}

export class SparkplugInventory {
  private readonly entries = new Map<string, Entry>();
  /** Per node key, only for nodes that had any: seq gaps and rebirth requests, from the host's events. */
  private readonly trouble = new Map<string, NodeTrouble>();
  /** The ids each node has listed (an array: a Set per node costs some 250 bytes more). */
  private readonly idsByNode = new Map<string, string[]>();
  private readonly expiring = new Set<string>();
  /**
   * No entry in `expiring` expires before this (it may be earlier than the real first
   * expiry; then a check finds nothing and moves it): every message asks for the next
   * deadline, so it must not walk every offline device each time.
   */
  private expiringFrom: number | undefined;
  /** The property mappings' keys, sorted: the order their values enter the identity suffix. */
  private readonly mappedKeys: readonly string[];
  /** Bumped whenever what Akri would see (ids, properties) changes. */
  version = 0;
  /** Devices listed, or listed anew with other properties, since the last `drainListed`. */
  private listed: DiscoveredDevice[] = [];

  constructor(private readonly options: InventoryOptions) {
    this.mappedKeys = Object.keys(options.sparkplug.properties).sort();
  }

  /**
   * Refreshes the entries that lifecycle events of this step may have changed. (Staleness is
   * not an entry's: it is read from the model when asked, so a reconnect changes nothing here.)
   */
  apply(events: readonly HostEvent[], now: number): void {
    const { nodes } = this.options;
    let touched: Set<string> | undefined;
    for (const event of events) {
      this.noteFacts(event, now);
      switch (event.kind) {
        case "node-born":
        case "node-died":
        case "device-born":
        case "device-died":
          touched ??= new Set();
          touched.add(nodeKey(event.group, event.edge));
          break;
      }
    }
    if (touched) for (const key of touched) this.refreshNode(nodes.get(key), key, now);
  }

  /** Refreshes every node of the model (an inventory made over a model that already has some). */
  refreshAll(now: number): void {
    for (const [key, node] of this.options.nodes) this.refreshNode(node, key, now);
  }

  private noteFacts(event: HostEvent, now: number): void {
    if (event.kind !== "seq-gap" && event.kind !== "rebirth-requested") return;
    const key = nodeKey(event.group, event.edge);
    let trouble = this.trouble.get(key);
    if (trouble === undefined) {
      trouble = { seqGaps: 0, rebirths: 0, lastRebirthAt: undefined };
      this.trouble.set(this.options.nodes.get(key)?.key ?? key, trouble);
    }
    if (event.kind === "seq-gap") trouble.seqGaps++;
    else {
      trouble.rebirths++;
      trouble.lastRebirthAt = now;
    }
  }

  /**
   * What the fleet page shows of an entity: its own birth (host time, a device's DBIRTH),
   * its node's birth, bdSeq and death, seq gaps and rebirth requests (ours, counted since
   * the handler started).
   */
  factsOf(id: string): Record<string, string | number> | undefined {
    const [, group, edge, deviceId] = entityKey(id).split("/");
    if (group === undefined || edge === undefined) return undefined;
    const key = nodeKey(group, edge);
    const node = this.options.nodes.get(key);
    if (node === undefined) return undefined;
    const trouble = this.trouble.get(key);
    const out: Record<string, string | number> = {};
    const deviceBirth = deviceId === undefined ? undefined : node.devices.get(deviceId)?.birth;
    if (deviceBirth !== undefined) out.bornAt = new Date(deviceBirth.receivedAt).toISOString();
    if (node.birth !== undefined) out.nodeBornAt = new Date(node.birth.receivedAt).toISOString();
    // A number (Sparkplug's bdSeq is 0-255); the exact digits of one too large for a JSON number.
    if (node.bdSeq !== undefined) {
      const bdSeq = Number(node.bdSeq);
      out.bdSeq = Number.isSafeInteger(bdSeq) ? bdSeq : node.bdSeq.toString();
    }
    if (node.diedAt !== undefined) out.nodeDiedAt = new Date(node.diedAt).toISOString();
    out.seqGaps = trouble?.seqGaps ?? 0;
    out.rebirthRequests = trouble?.rebirths ?? 0;
    if (trouble?.lastRebirthAt !== undefined)
      out.lastRebirthRequestAt = new Date(trouble.lastRebirthAt).toISOString();
    return out;
  }

  private refreshNode(node: EdgeNode | undefined, eventKey: string, now: number): void {
    // The model's own strings are kept, not copies made per event (one per device adds up).
    const key = node?.key ?? eventKey;
    const wanted = new Map<string, DiscoveredDevice | "offline">();
    if (node) this.collect(node, wanted);
    const previous = this.idsByNode.get(key) ?? [];
    const current = new Set<string>();
    // The ids kept per node are entry keys; without mappings a listed id is its key, and
    // that one string is kept rather than another copy.
    const keyOf = (id: string): string =>
      this.mappedKeys.length === 0 ? (this.entries.get(id)?.device.id ?? id) : id;
    for (const [id, device] of wanted) {
      if (device === "offline") {
        if (this.keepOffline(id, now)) current.add(keyOf(id));
        continue;
      }
      const deviceId = deviceIdOf(device);
      this.put(id, device, key);
      if (node && deviceId !== undefined) {
        const entry = this.entries.get(id)!;
        entry.builtFromNode = node.birth;
        entry.builtFromDevice = node.devices.get(deviceId)?.birth;
      }
      current.add(keyOf(id));
    }
    for (const id of previous) {
      if (current.has(id)) continue;
      if (!wanted.has(id) && this.entries.has(id)) this.remove(id); // filtered out or gone from the model
    }
    if (current.size > 0) this.idsByNode.set(key, [...current]);
    else this.idsByNode.delete(key);
  }

  /** The entries this node contributes: a device to list, or "offline" (listed only during grace). */
  private collect(node: EdgeNode, wanted: Map<string, DiscoveredDevice | "offline">): void {
    const { sparkplug } = this.options;
    if (
      !shouldInclude(sparkplug.groupIds, node.group) ||
      !shouldInclude(sparkplug.edgeNodeIds, node.edge) ||
      !inShard(sparkplug.shard, node.group, node.edge)
    )
      return;
    const { birthsFrom } = this.options;
    if (birthsFrom !== undefined && node.birth !== undefined && node.birth.receivedAt < birthsFrom) return;
    const nodeTable = node.birth?.metrics;
    if (sparkplug.discover !== "devices" && selected(sparkplug.birthMetrics, nodeTable, undefined)) {
      const id = entityId(node.group, node.edge);
      if (node.status === "online") {
        wanted.set(id, this.nodeDevice(node, id));
      } else if (node.status === "offline") {
        wanted.set(id, "offline");
      }
    }
    if (sparkplug.discover === "nodes") return;
    for (const device of node.devices.values()) {
      if (!shouldInclude(sparkplug.deviceIds, device.id)) continue;
      if (!selected(sparkplug.birthMetrics, device.birth?.metrics, nodeTable)) continue;
      const id = entityId(node.group, node.edge, device.id);
      if (device.status === "online" && node.status !== "offline") {
        // A node's birth burst refreshes its node once per DBIRTH: build only what changed.
        const entry = this.entries.get(id);
        const reuse =
          entry !== undefined &&
          entry.builtFromDevice !== undefined &&
          entry.expiresAt === undefined &&
          entry.builtFromNode === node.birth &&
          entry.builtFromDevice === device.birth;
        wanted.set(id, reuse ? entry.device : this.deviceDevice(node, device, id));
      } else if (device.status === "offline" || node.status === "offline") {
        wanted.set(id, "offline");
      }
    }
  }

  /** Every edge node and device seen but not listed now, with why (explain.ts). */
  unlisted(): UnlistedEntity[] {
    return unlistedEntities(this.options, (id) => this.entries.has(id));
  }

  /**
   * Adds the mapped birth values to `properties` and returns the id suffix they make: `#`
   * and 8 hex digits of a SHA-256 of the mapping keys and values (absent ones included), or
   * "" without mappings. The same birth gives the same suffix on every node.
   */
  private mapped(
    properties: Record<string, string>,
    table: MetricTable | undefined,
    fallback?: MetricTable,
  ): string {
    const keys = this.mappedKeys;
    if (keys.length === 0) return "";
    const mappings = this.options.sparkplug.properties;
    const values: (string | null)[] = [];
    for (const key of keys) {
      const metric = mappings[key]!;
      const value = propertyValue(table?.valueOf(metric)) ?? propertyValue(fallback?.valueOf(metric));
      if (value !== undefined) properties[key] = value;
      values.push(value ?? null);
    }
    const digest = createHash("sha256")
      .update(JSON.stringify([keys, values]))
      .digest("hex");
    return SUFFIX + digest.slice(0, 8);
  }

  /** The broker a listed entity's node is on now (for /devices and the fleet page; never a property). */
  brokerOf(id: string): string | undefined {
    const entry = this.entries.get(entityKey(id));
    if (entry === undefined) return undefined;
    const { brokers } = this.options;
    if (brokers.length === 1) return brokers[0];
    const node = this.options.nodes.get(entry.node);
    const on = node?.broker ?? node?.heardOn;
    return on !== undefined && brokers.includes(on) ? on : undefined;
  }

  /*
   * Property objects are built as literals of one fixed key order (MQTT_BROKER_URIS and
   * MQTT_BROKER_NAMES only with several brokers), never by spreading: V8 gives every
   * spread-built object its own hidden class, some 300 bytes a device at 100,000 devices.
   */
  private nodeDevice(node: EdgeNode, id: string): DiscoveredDevice {
    const broker = this.options.brokerProperties;
    const topic = node.dataTopic;
    const properties: Record<string, string> =
      broker.several === undefined
        ? {
            MQTT_BROKER_URI: broker.uri,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DATA_TOPIC: topic,
          }
        : {
            MQTT_BROKER_URI: broker.uri,
            MQTT_BROKER_URIS: broker.several.uris,
            MQTT_BROKER_NAMES: broker.several.names,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DATA_TOPIC: topic,
          };
    const suffix = this.mapped(properties, node.birth?.metrics);
    return { id: suffix === "" ? id : id + suffix, properties, kind: "sparkplug-node" };
  }

  private deviceDevice(node: EdgeNode, device: Device, id: string): DiscoveredDevice {
    const broker = this.options.brokerProperties;
    const topic = device.dataTopic;
    const properties: Record<string, string> =
      broker.several === undefined
        ? {
            MQTT_BROKER_URI: broker.uri,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DEVICE_ID: device.id,
            SPARKPLUG_DATA_TOPIC: topic,
          }
        : {
            MQTT_BROKER_URI: broker.uri,
            MQTT_BROKER_URIS: broker.several.uris,
            MQTT_BROKER_NAMES: broker.several.names,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DEVICE_ID: device.id,
            SPARKPLUG_DATA_TOPIC: topic,
          };
    const suffix = this.mapped(properties, device.birth?.metrics, node.birth?.metrics);
    return { id: suffix === "" ? id : id + suffix, properties, kind: "sparkplug-device" };
  }

  private put(id: string, device: DiscoveredDevice, node: string): void {
    const entry = this.entries.get(id);
    this.expiring.delete(id);
    if (entry && sameAkriDevice(entry.device, device)) {
      // Same for Akri: keep the listed object (and whatever was derived from it).
      entry.expiresAt = undefined;
      return;
    }
    this.entries.set(id, {
      device,
      node,
      expiresAt: undefined,
      builtFromNode: undefined,
      builtFromDevice: undefined,
    });
    this.listed.push(device);
    this.version++;
  }

  /** How a listed entity is doing, from the host model. */
  statusOf(id: string): DeviceStatus | undefined {
    const entry = this.entries.get(entityKey(id));
    if (entry === undefined) return undefined;
    const node = this.options.nodes.get(entry.node);
    if (entry.expiresAt !== undefined || node === undefined) return "offline";
    const deviceId = deviceIdOf(entry.device);
    if (deviceId === undefined) return node.stale ? "stale" : "online";
    const device = node.devices.get(deviceId);
    return node.stale || device === undefined || device.stale || device.awaitingBirth ? "stale" : "online";
  }

  /** An entity that went offline: listed for the grace period if it was listed. */
  private keepOffline(id: string, now: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    const graceMs = this.options.offlineGraceSeconds * 1000;
    if (graceMs <= 0) {
      this.remove(id);
      return false;
    }
    if (entry.expiresAt === undefined) {
      entry.expiresAt = now + graceMs;
      this.expiring.add(id);
      this.expiringFrom = earlier(this.expiringFrom, entry.expiresAt);
    }
    return true;
  }

  private remove(id: string): void {
    if (this.entries.delete(id)) this.version++;
    this.expiring.delete(id);
  }

  /** Drops entries whose grace period is over. */
  expire(now: number): void {
    if (this.expiringFrom === undefined || now < this.expiringFrom) return;
    let next: number | undefined;
    for (const id of [...this.expiring]) {
      const entry = this.entries.get(id);
      const at = entry?.expiresAt;
      if (entry === undefined || at === undefined) {
        this.expiring.delete(id);
      } else if (at <= now) {
        this.remove(id);
        const ids = this.idsByNode.get(entry.node);
        if (ids !== undefined) {
          const index = ids.indexOf(id);
          if (index >= 0) ids.splice(index, 1);
          if (ids.length === 0) this.idsByNode.delete(entry.node);
        }
      } else {
        next = earlier(next, at);
      }
    }
    this.expiringFrom = next;
  }

  /** The devices listed (or changed) since the last call: what the next list will need. */
  drainListed(): DiscoveredDevice[] {
    const listed = this.listed;
    if (listed.length > 0) this.listed = [];
    return listed;
  }

  nextDeadline(): number | undefined {
    return this.expiring.size === 0 ? undefined : this.expiringFrom;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The listed devices, sorted by id. */
  list(): DiscoveredDevice[] {
    // Device objects are never changed once listed (a change replaces them), so sent lists can share them.
    return sortDevices([...this.entries.values()].map((e) => e.device));
  }
}
