import type { HostEvent } from "../../sparkplug/host/events.js";
import { type Device, type EdgeNode, type EntityStatus, nodeKey } from "../../sparkplug/host/model.js";
import type { MetricTable } from "../../sparkplug/metric-table.js";
import type { MetricValue } from "../../sparkplug/payload.js";
import { entityId } from "../../sparkplug/topic.js";
import { earlier } from "../../time/deadline.js";
import type { BirthMetricSelector, SparkplugDetails } from "../details.js";
import {
  type DeviceStatus,
  type DiscoveredDevice,
  sameAkriDevice,
  sortDevices,
  type UnlistedEntity,
} from "../device.js";
import { type FilterList, shouldInclude } from "../filter-list.js";

/*
 * From the host model to Akri devices (design.md §5): which edge nodes and devices are
 * listed (`discover`, FilterLists, birthMetrics selectors), with which id and properties.
 * Kept incrementally: a lifecycle event refreshes only the entries of its edge node, so a
 * 100,000-device plant costs per change, not per message.
 */

export interface InventoryOptions {
  /** The brokers' identities (their serverUrls, comma-joined), in the order the details give them. */
  brokers: readonly string[];
  sparkplug: SparkplugDetails;
  offlineGraceSeconds: number;
  /** The host model's edge nodes, by node key: where each listed entity's status is read. */
  nodes: ReadonlyMap<string, EdgeNode>;
}

interface Entry {
  device: DiscoveredDevice;
  /** `<group>/<edge>` of the node it belongs to. */
  node: string;
  /** While offline and kept for the grace period: when to drop it (host time). */
  expiresAt: number | undefined;
  /**
   * What the device was built from (the births whose values it maps, the broker it names):
   * while they are the same objects, a refresh of its node reuses it instead of building it
   * again. (Three fields, not a tuple: an array a device is 80 bytes at 100,000 devices.)
   */
  builtFromNode: unknown;
  builtFromDevice: unknown;
  builtForBroker: string | undefined;
}

/** The Sparkplug device id of a listed device (undefined for an edge node). */
function deviceIdOf(device: DiscoveredDevice): string | undefined {
  return device.kind === "sparkplug-device" ? device.properties.SPARKPLUG_DEVICE_ID : undefined;
}

type Reason = UnlistedEntity["reason"];

/** The reason a FilterList leaves `item` out (naming the list and the item), or undefined if it keeps it. */
function excludedBy(key: string, filter: FilterList | undefined, item: string): Reason | undefined {
  if (shouldInclude(filter, item)) return undefined;
  return {
    code: "excluded-by-filter",
    message:
      filter?.action === "Include"
        ? `${key} Include does not list ${JSON.stringify(item)}`
        : `${key} Exclude lists ${JSON.stringify(item)}`,
  };
}

/** An unlisted entity's status, from the model. */
function entityStatus(status: EntityStatus, stale: boolean, awaitingBirth = false): UnlistedEntity["status"] {
  if (status === "unknown" || awaitingBirth) return "awaiting-birth";
  if (status === "offline") return "offline";
  return stale ? "stale" : "online";
}

/** Renders a birth value as a property string, or undefined when it cannot be one. */
function propertyValue(value: MetricValue | undefined): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      return undefined;
  }
}

/** What the fleet page shows of an edge node's session (kept per node, not per device). */
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
  /** Several brokers: every one, for a device's MQTT_BROKER_URIS (what a monitor follows it across). */
  private readonly allBrokers: string | undefined;
  /** Bumped whenever what Akri would see (ids, properties) changes. */
  version = 0;
  /** Devices listed, or listed anew with other properties, since the last `drainListed`. */
  private listed: DiscoveredDevice[] = [];

  constructor(private readonly options: InventoryOptions) {
    this.allBrokers = options.brokers.length > 1 ? options.brokers.join(" ") : undefined;
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
    const [, group, edge, deviceId] = id.split("/");
    if (group === undefined || edge === undefined) return undefined;
    const key = nodeKey(group, edge);
    const node = this.options.nodes.get(key);
    if (node === undefined) return undefined;
    const trouble = this.trouble.get(key);
    const out: Record<string, string | number> = {};
    const deviceBirth = deviceId === undefined ? undefined : node.devices.get(deviceId)?.birth;
    if (deviceBirth !== undefined) out.born = new Date(deviceBirth.receivedAt).toISOString();
    if (node.birth !== undefined) out["node born"] = new Date(node.birth.receivedAt).toISOString();
    if (node.bdSeq !== undefined) out.bdSeq = node.bdSeq.toString();
    if (node.diedAt !== undefined) out["node died"] = new Date(node.diedAt).toISOString();
    out["seq gaps"] = trouble?.seqGaps ?? 0;
    out["rebirth requests"] = trouble?.rebirths ?? 0;
    if (trouble?.lastRebirthAt !== undefined)
      out["last rebirth request"] = new Date(trouble.lastRebirthAt).toISOString();
    return out;
  }

  private refreshNode(node: EdgeNode | undefined, eventKey: string, now: number): void {
    // The model's own strings are kept, not copies made per event (one per device adds up).
    const key = node?.key ?? eventKey;
    const wanted = new Map<string, DiscoveredDevice | "offline">();
    if (node) this.collect(node, wanted);
    const previous = this.idsByNode.get(key) ?? [];
    const current = new Set<string>();
    for (const [id, device] of wanted) {
      if (device === "offline") {
        if (this.keepOffline(id, now)) current.add(this.entries.get(id)?.device.id ?? id);
        continue;
      }
      const deviceId = deviceIdOf(device);
      this.put(id, device, key);
      if (node && deviceId !== undefined) {
        const entry = this.entries.get(id)!;
        entry.builtFromNode = node.birth;
        entry.builtFromDevice = node.devices.get(deviceId)?.birth;
        entry.builtForBroker = node.broker ?? node.heardOn;
      }
      current.add(this.entries.get(id)!.device.id);
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
    if (!shouldInclude(sparkplug.groupIds, node.group) || !shouldInclude(sparkplug.edgeNodeIds, node.edge))
      return;
    const nodeTable = node.birth?.metrics;
    if (sparkplug.discover !== "devices" && this.selected(nodeTable, undefined)) {
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
      if (!this.selected(device.birth?.metrics, nodeTable)) continue;
      const id = entityId(node.group, node.edge, device.id);
      if (device.status === "online" && node.status !== "offline") {
        // A node's birth burst refreshes its node once per DBIRTH: build only what changed.
        const entry = this.entries.get(id);
        const reuse =
          entry !== undefined &&
          entry.builtFromDevice !== undefined &&
          entry.expiresAt === undefined &&
          entry.builtFromNode === node.birth &&
          entry.builtFromDevice === device.birth &&
          entry.builtForBroker === (node.broker ?? node.heardOn);
        wanted.set(id, reuse ? entry.device : this.deviceDevice(node, device, id));
      } else if (device.status === "offline" || node.status === "offline") {
        wanted.set(id, "offline");
      }
    }
  }

  /**
   * Every edge node and device of the model that is not listed now, with the first reason
   * that keeps it out, in the order the listing decides: filters, the kind discovered, a
   * missing birth, birthMetrics selectors, then death past the grace period.
   */
  unlisted(): UnlistedEntity[] {
    const { sparkplug } = this.options;
    const out: UnlistedEntity[] = [];
    const kindOut = (kind: "devices" | "nodes"): Reason | undefined =>
      sparkplug.discover === kind
        ? {
            code: "not-discovered-kind",
            message:
              kind === "devices"
                ? "discover: devices lists devices, not edge nodes"
                : "discover: nodes lists edge nodes, not devices",
          }
        : undefined;
    const nodesOut = kindOut("devices");
    const devicesOut = kindOut("nodes");
    for (const node of this.options.nodes.values()) {
      const nodeId = entityId(node.group, node.edge);
      const nodeTable = node.birth?.metrics;
      const excluded =
        excludedBy("groupIds", sparkplug.groupIds, node.group) ??
        excludedBy("edgeNodeIds", sparkplug.edgeNodeIds, node.edge);
      if (!this.entries.has(nodeId)) {
        const reason =
          excluded ?? nodesOut ?? this.whyNot(node.status, false, nodeTable, undefined, "NBIRTH");
        if (reason)
          out.push({
            id: nodeId,
            kind: "sparkplug-node",
            status: entityStatus(node.status, node.stale),
            reason,
          });
      }
      for (const device of node.devices.values()) {
        const id = entityId(node.group, node.edge, device.id);
        if (this.entries.has(id)) continue;
        const status =
          node.status === "offline"
            ? "offline"
            : entityStatus(device.status, node.stale || device.stale, device.awaitingBirth);
        const reason =
          excluded ??
          devicesOut ??
          excludedBy("deviceIds", sparkplug.deviceIds, device.id) ??
          this.whyNot(
            node.status === "offline" ? "offline" : device.status,
            device.awaitingBirth,
            device.birth?.metrics,
            nodeTable,
            "DBIRTH",
          );
        if (reason) out.push({ id, kind: "sparkplug-device", status, reason });
      }
    }
    return sortDevices(out);
  }

  /** Why a seen entity that no filter leaves out is not listed (undefined: it should be). */
  private whyNot(
    status: EntityStatus,
    awaitingBirth: boolean,
    table: MetricTable | undefined,
    fallback: MetricTable | undefined,
    birth: "NBIRTH" | "DBIRTH",
  ): Reason | undefined {
    if (status === "unknown" || awaitingBirth)
      return {
        code: "awaiting-birth",
        message: awaitingBirth
          ? `its node was reborn and its ${birth} has not come again yet`
          : `traffic seen but no live ${birth} yet (a rebirth is requested)`,
      };
    const mismatch = this.selectorMismatch(table, fallback);
    if (mismatch !== undefined) return { code: "birth-metrics-mismatch", message: mismatch };
    if (status === "offline")
      return {
        code: "offline",
        message: `dead, and past offlineGraceSeconds (${this.options.offlineGraceSeconds} s)`,
      };
    return undefined;
  }

  /** The first birthMetrics selector the birth does not satisfy, described; undefined if all do. */
  private selectorMismatch(
    table: MetricTable | undefined,
    fallback: MetricTable | undefined,
  ): string | undefined {
    for (const selector of this.options.sparkplug.birthMetrics) {
      if (this.matches(selector, table) || (fallback !== undefined && this.matches(selector, fallback)))
        continue;
      const source = table?.has(selector.name) ? table : fallback?.has(selector.name) ? fallback : undefined;
      if (source === undefined)
        return `birthMetrics: the birth has no metric ${JSON.stringify(selector.name)}`;
      const value = propertyValue(source.valueOf(selector.name));
      return `birthMetrics: ${JSON.stringify(selector.name)} is ${value === undefined ? "not a scalar" : JSON.stringify(value)}, not ${JSON.stringify(String(selector.equals))}`;
    }
    return undefined;
  }

  /** Does a birth satisfy every birthMetrics selector (own table first, then the node's)? */
  private selected(table: MetricTable | undefined, fallback: MetricTable | undefined): boolean {
    const selectors = this.options.sparkplug.birthMetrics;
    if (selectors.length === 0) return true;
    return selectors.every(
      (s) => this.matches(s, table) || (fallback !== undefined && this.matches(s, fallback)),
    );
  }

  private matches(selector: BirthMetricSelector, table: MetricTable | undefined): boolean {
    if (!table?.has(selector.name)) return false;
    if (selector.equals === undefined) return true;
    return propertyValue(table.valueOf(selector.name)) === String(selector.equals);
  }

  private mapped(
    properties: Record<string, string>,
    table: MetricTable | undefined,
    fallback?: MetricTable,
  ): void {
    for (const [key, metric] of Object.entries(this.options.sparkplug.properties)) {
      const value = propertyValue(table?.valueOf(metric)) ?? propertyValue(fallback?.valueOf(metric));
      if (value !== undefined) properties[key] = value;
    }
  }

  /**
   * The broker of a node's entities: the one its session lives on (with several brokers it
   * moves, and its devices' MQTT_BROKER_URI with it).
   */
  private brokerOf(node: EdgeNode): string {
    const { brokers } = this.options;
    if (this.allBrokers === undefined) return brokers[0]!;
    const on = node.broker ?? node.heardOn;
    return on !== undefined && brokers.includes(on) ? on : brokers[0]!;
  }

  /*
   * Property objects are built as literals of one fixed key order (MQTT_BROKER_URIS only
   * with several brokers), never by spreading: V8 gives every spread-built object its own
   * hidden class, some 300 bytes a device at 100,000 devices.
   */
  private nodeDevice(node: EdgeNode, id: string): DiscoveredDevice {
    const broker = this.brokerOf(node);
    const topic = node.dataTopic;
    const properties: Record<string, string> =
      this.allBrokers === undefined
        ? {
            MQTT_BROKER_URI: broker,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DATA_TOPIC: topic,
          }
        : {
            MQTT_BROKER_URI: broker,
            MQTT_BROKER_URIS: this.allBrokers,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DATA_TOPIC: topic,
          };
    this.mapped(properties, node.birth?.metrics);
    return { id, properties, kind: "sparkplug-node", broker: properties.MQTT_BROKER_URI! };
  }

  private deviceDevice(node: EdgeNode, device: Device, id: string): DiscoveredDevice {
    const broker = this.brokerOf(node);
    const topic = device.dataTopic;
    const properties: Record<string, string> =
      this.allBrokers === undefined
        ? {
            MQTT_BROKER_URI: broker,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DEVICE_ID: device.id,
            SPARKPLUG_DATA_TOPIC: topic,
          }
        : {
            MQTT_BROKER_URI: broker,
            MQTT_BROKER_URIS: this.allBrokers,
            SPARKPLUG_GROUP_ID: node.group,
            SPARKPLUG_EDGE_NODE_ID: node.edge,
            SPARKPLUG_DEVICE_ID: device.id,
            SPARKPLUG_DATA_TOPIC: topic,
          };
    this.mapped(properties, device.birth?.metrics, node.birth?.metrics);
    return { id, properties, kind: "sparkplug-device", broker: properties.MQTT_BROKER_URI! };
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
      builtForBroker: undefined,
    });
    this.listed.push(device);
    this.version++;
  }

  /** How a listed entity is doing, from the host model. */
  statusOf(id: string): DeviceStatus | undefined {
    const entry = this.entries.get(id);
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
