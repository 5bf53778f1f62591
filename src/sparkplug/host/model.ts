import type { MetricTable } from "../metric-table.js";
import { edgeTopic } from "../topic.js";
import type { SequenceTracker } from "./sequence.js";

/**
 * Liveness of an edge node or device as the host knows it: `online` after a birth of the
 * current session, `offline` after a valid death, `unknown` when it is known to exist
 * (traffic, a certificate, a retained birth) but its session is not established.
 */
export type EntityStatus = "online" | "offline" | "unknown";

/** Where a birth came from: live traffic, a Sparkplug-aware broker's certificate, or a retained message. */
export type BirthSource = "live" | "certificate" | "retained";

export interface Birth {
  /** Host receive time, ms. */
  receivedAt: number;
  /** The payload's timestamp, ms, when it had one. */
  timestamp: number | undefined;
  source: BirthSource;
  /** Birth metrics: name, alias, datatype, scalar birth values, template members. */
  metrics: MetricTable;
  /** The edge node whose session it belongs to (its own, or its device's). */
  readonly node: EdgeNode;
  /**
   * The host's quiet lane found DATA on this birth's topic quiet as of this model change
   * (HostModel.changes; -1: never): see quiet-lane.ts, and changes.ts for what ends it.
   */
  quietAt: number;
}

export interface Device {
  readonly id: string;
  /** Its DDATA topic (one string, shared with what discovery lists). */
  readonly dataTopic: string;
  status: EntityStatus;
  /** Its birth metrics may be out of date: the broker connection was lost, or the node died. */
  stale: boolean;
  birth: Birth | undefined;
  /** When it went offline: the DDEATH payload time, or the node's death at host receive time. */
  diedAt: number | undefined;
  /** The node was reborn and this device has not sent its DBIRTH again yet. */
  awaitingBirth: boolean;
}

export interface EdgeNode {
  readonly group: string;
  readonly edge: string;
  /** `<group>/<edge>`: unique, since ids cannot contain "/". */
  readonly key: string;
  /** Its NDATA topic (one string, shared with what discovery lists). */
  readonly dataTopic: string;
  /**
   * The last model change (HostModel.changes) that may have touched this node or its
   * devices, as changes.ts dates it: every message of the node that takes the full path,
   * and every rebirth request sent to it. The quiet lane trusts what it checked only while
   * this stays put.
   */
  changedAt: number;
  status: EntityStatus;
  stale: boolean;
  /** bdSeq of the NBIRTH that opened the current session (undefined if it carried none). */
  bdSeq: bigint | undefined;
  birth: Birth | undefined;
  diedAt: number | undefined;
  devices: Map<string, Device>;
  /** Deadline for devices that have not re-sent their DBIRTH after an NBIRTH. */
  deviceSettleDeadline: number | undefined;
  /** Deadline for a node that is stale after a broker reconnect to show a sign of life. */
  staleDeadline: number | undefined;
  /** Set while the node is known only from a certificate or retained birth. */
  unprovenSince: number | undefined;
  /** The broker of its session: where it last published a live NBIRTH (several brokers: it moves). */
  broker: string | undefined;
  /** The broker its latest message came from (where to ask it for a birth when `broker` is unknown). */
  heardOn: string | undefined;
  /** Its seq tracking (made at its first sequenced message; on the node, read with it for every DATA). */
  sequence: SequenceTracker<unknown> | undefined;
}

/** Another host application, from its STATE messages. */
export interface HostApplication {
  readonly hostId: string;
  version: "3.0" | "2.2";
  online: boolean;
  /** 3.0 STATE timestamp of the latest accepted message. */
  timestamp: number | undefined;
  receivedAt: number;
}

export function nodeKey(group: string, edge: string): string {
  return `${group}/${edge}`;
}

export function newEdgeNode(group: string, edge: string): EdgeNode {
  return {
    group,
    edge,
    key: nodeKey(group, edge),
    status: "unknown",
    stale: false,
    bdSeq: undefined,
    birth: undefined,
    diedAt: undefined,
    changedAt: 0,
    dataTopic: edgeTopic("NDATA", group, edge),
    devices: new Map(),
    deviceSettleDeadline: undefined,
    staleDeadline: undefined,
    unprovenSince: undefined,
    broker: undefined,
    heardOn: undefined,
    sequence: undefined,
  };
}

export function newDevice(node: EdgeNode, id: string): Device {
  return {
    id,
    dataTopic: edgeTopic("DDATA", node.group, node.edge, id),
    status: "unknown",
    stale: false,
    birth: undefined,
    diedAt: undefined,
    awaitingBirth: false,
  };
}

export function newBirth(
  node: EdgeNode,
  receivedAt: number,
  timestamp: number | undefined,
  source: BirthSource,
  metrics: MetricTable,
): Birth {
  return { receivedAt, timestamp, source, metrics, node, quietAt: -1 };
}
