import { earlier } from "../../time/deadline.js";
import type { Scope } from "./events.js";
import { type EdgeNode, type HostApplication, newEdgeNode } from "./model.js";
import type { HostOptions } from "./options.js";
import { RebirthPolicy } from "./rebirth-policy.js";
import { SequenceTracker } from "./sequence.js";

/** The host's whole state. Handlers change it; only the session's stages call them. */
export interface HostModel {
  readonly options: HostOptions;
  readonly nodes: Map<string, EdgeNode>;
  /** The same nodes by group, then edge: found from a topic's levels without building a key. */
  readonly nodesByGroup: Map<string, Map<string, EdgeNode>>;
  readonly hosts: Map<string, HostApplication>;
  readonly policy: RebirthPolicy;
  /** Node keys with a pending deadline (reorder, settle, stale, unproven), so ticks skip the rest. */
  readonly timed: Set<string>;
  /**
   * No deadline of a node in `timed` is before this. It may be earlier than the real first
   * one (deadlines that are cleared or met leave it be); a tick then finds nothing to do and
   * moves it. Every message asks for the next deadline, so that must not walk every node.
   */
  timedFrom: number | undefined;
  /**
   * The brokers we are connected to, each with the timestamp of our STATE Will (and birth) of
   * its current session: Sparkplug keeps a STATE timestamp per server.
   */
  readonly brokers: Map<string, number>;
  /**
   * A count of the changes to the model that the quiet lane must hear of, dated by
   * `changes.ts` alone: on the node a step may touch (EdgeNode.changedAt) or, when it may
   * touch any node, on all of them (`allChangedAt`).
   */
  changes: number;
  allChangedAt: number;
}

export function newHostModel(options: HostOptions, random: () => number): HostModel {
  return {
    options,
    nodes: new Map(),
    nodesByGroup: new Map(),
    hosts: new Map(),
    policy: new RebirthPolicy(options.rebirth, random),
    timed: new Set(),
    timedFrom: undefined,
    brokers: new Map(),
    changes: 0,
    allChangedAt: 0,
  };
}

/** The edge node, if the session knows it. */
export function findNode(model: HostModel, group: string, edge: string): EdgeNode | undefined {
  return model.nodesByGroup.get(group)?.get(edge);
}

/** The edge node, created (unknown, not born) if the session does not know it yet. */
export function getNode(model: HostModel, group: string, edge: string): EdgeNode {
  let edges = model.nodesByGroup.get(group);
  let node = edges?.get(edge);
  if (!node) {
    node = newEdgeNode(group, edge);
    model.nodes.set(node.key, node);
    if (!edges) {
      edges = new Map();
      model.nodesByGroup.set(node.group, edges);
    }
    edges.set(node.edge, node);
  }
  return node;
}

/** The node's seq tracking, made at its first use; it holds back messages of type T. */
export function sequenceOf<T>(node: EdgeNode): SequenceTracker<T> {
  node.sequence ??= new SequenceTracker<unknown>();
  return node.sequence as SequenceTracker<T>;
}

/** Notes that `node` has a deadline at `at` (reorder, settle, stale, unproven): a tick will look at it then. */
export function scheduleNode(model: HostModel, node: EdgeNode, at: number): void {
  model.timed.add(node.key);
  model.timedFrom = earlier(model.timedFrom, at);
}

/** A stale node was asked to rebirth: if it stays silent for staleTimeoutMs it is gone. */
export function startStaleDeadline(model: HostModel, node: EdgeNode | undefined, now: number): void {
  if (!node?.stale || node.status === "offline" || node.staleDeadline !== undefined) return;
  node.staleDeadline = now + model.options.staleTimeoutMs;
  scheduleNode(model, node, node.staleDeadline);
}

export function scopeOf(node: EdgeNode): Scope;
export function scopeOf(node: EdgeNode, device: string): Scope & { device: string };
export function scopeOf(node: EdgeNode, device: string | undefined): Scope;
export function scopeOf(node: EdgeNode, device?: string): Scope {
  return device === undefined
    ? { group: node.group, edge: node.edge }
    : { group: node.group, edge: node.edge, device };
}
