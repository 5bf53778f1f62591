import { earlier } from "../../time/deadline.js";
import { DataType } from "../datatype.js";
import { encodePayload } from "../encode.js";
import { REBIRTH_METRIC } from "../payload.js";
import { edgeTopic } from "../topic.js";
import { dateChange, rebirthReach } from "./changes.js";
import { settleDevices } from "./data.js";
import { findNode, type HostModel, scopeOf, startStaleDeadline } from "./host-model.js";
import { stateCommand } from "./host-state.js";
import type { EdgeNode } from "./model.js";
import { markNodeDead } from "./node-death.js";
import { expireGap } from "./ordering.js";
import type { StepOutput } from "./step.js";

/*
 * Timers: what the passing of time and the broker connection do to the model. A tick runs
 * the nodes' deadlines that have come (reorder gap, device settle, unproven grace, stale);
 * a broker online or lost changes every node that lives on it; due rebirth requests go out
 * at the end of every step. Each of these may touch any node, so their step dates all of
 * them (changes.ts), except a rebirth request, which dates the node it is sent to.
 */

/** What drives the session besides messages: the passing of time, the broker connection, the caller. */
export type TimerInput =
  | { kind: "tick" }
  /** Connected and subscribed; `willTimestamp` is the one in the Will registered at CONNECT. */
  | { kind: "online"; broker: string; willTimestamp: number }
  | { kind: "offline"; broker: string }
  /** Ask a node for a rebirth (within the policy's limits): e.g. to confirm a saved alias table. */
  | { kind: "request-rebirth"; group: string; edge: string }
  | { kind: "shutdown" };

export function applyTimerInput(model: HostModel, input: TimerInput, out: StepOutput, now: number): void {
  switch (input.kind) {
    case "tick":
      tick(model, out, now);
      return;
    case "online":
      brokerOnline(model, out, input.broker, input.willTimestamp, now);
      return;
    case "offline":
      brokerLost(model, out, input.broker);
      return;
    case "request-rebirth":
      model.policy.request({ group: input.group, edge: input.edge }, "unproven-birth", now);
      return;
    case "shutdown":
      // Our STATE death on every broker we are connected to, before we disconnect.
      if (model.options.publishState)
        for (const broker of model.brokers.keys())
          out.command(stateCommand(model.options.hostId, false, now, broker));
      return;
  }
}

/** The earliest time a tick has something to do, if any. */
export function nextDeadline(model: HostModel): number | undefined {
  const { policy, timed, timedFrom } = model;
  return earlier(policy.nextDeadline(), timed.size > 0 ? timedFrom : undefined);
}

/** Turns due rebirth requests into NCMD commands, dating a change on each node asked. */
export function releaseRebirths(model: HostModel, out: StepOutput, now: number): void {
  for (const request of model.policy.due(now)) {
    const { group, edge } = request.scope;
    const node = findNode(model, group, edge);
    dateChange(model, rebirthReach(node));
    out.command({
      kind: "publish",
      purpose: "rebirth",
      topic: edgeTopic("NCMD", group, edge),
      payload: rebirthRequestPayload(now),
      qos: 0,
      retain: false,
      scope: { group, edge },
      // The broker its session is on, else where it was last heard; unknown: every broker.
      broker: node?.broker ?? node?.heardOn,
    });
    out.emit({ kind: "rebirth-requested", group, edge, reason: request.reason });
    startStaleDeadline(model, node, now);
  }
}

/**
 * The rebirth request: `Node Control/Rebirth` = true with the Boolean datatype (CMD metrics
 * SHOULD NOT carry one, but the TCK grades the value only when it does), a payload
 * timestamp, and no seq.
 */
export function rebirthRequestPayload(now: number): Uint8Array {
  return encodePayload({
    timestamp: now,
    metrics: [{ name: REBIRTH_METRIC, datatype: DataType.Boolean, value: true }],
  });
}

function tick(model: HostModel, out: StepOutput, now: number): void {
  const { options, nodes, timed, timedFrom } = model;
  // A tick for the rebirth policy alone: no node's deadline has come.
  if (timedFrom === undefined || now < timedFrom) return;
  // Recomputed from what is left; a node scheduled during the scan lowers it again.
  model.timedFrom = undefined;
  let next: number | undefined;
  for (const key of [...timed]) {
    const node = nodes.get(key);
    if (!node) {
      timed.delete(key);
      continue;
    }
    const gap = node.sequence?.gapOpenedAt;
    if (gap !== undefined && now >= gap + options.rebirth.reorderTimeoutMs) expireGap(model, out, node, now);
    if (node.deviceSettleDeadline !== undefined && now >= node.deviceSettleDeadline)
      settleDevices(out, node, now);
    if (node.unprovenSince !== undefined && now >= node.unprovenSince + options.unprovenGraceMs) {
      node.unprovenSince = undefined;
      const unproven =
        node.status !== "online" || [...node.devices.values()].some((d) => d.status === "unknown");
      if (unproven) model.policy.request(scopeOf(node), "unproven-birth", now);
    }
    if (node.staleDeadline !== undefined && now >= node.staleDeadline) {
      node.staleDeadline = undefined;
      if (node.stale && node.status !== "offline") markNodeDead(out, node, now, "silent-after-reconnect");
    }
    const at = deadlineOf(model, node);
    if (at === undefined) timed.delete(key);
    else next = earlier(next, at);
  }
  model.timedFrom = earlier(model.timedFrom, next);
}

/** The earliest deadline the node has (reorder gap, device settle, stale, unproven grace), if any. */
function deadlineOf(model: HostModel, node: EdgeNode): number | undefined {
  const { options } = model;
  const gap = node.sequence?.gapOpenedAt;
  const unproven = node.unprovenSince;
  let next = gap === undefined ? undefined : gap + options.rebirth.reorderTimeoutMs;
  next = earlier(next, node.deviceSettleDeadline);
  next = earlier(next, node.staleDeadline);
  return earlier(next, unproven === undefined ? undefined : unproven + options.unprovenGraceMs);
}

function brokerOnline(
  model: HostModel,
  out: StepOutput,
  broker: string,
  willTimestamp: number,
  now: number,
): void {
  model.brokers.set(broker, willTimestamp);
  out.emit({ kind: "broker-online", broker });
  if (model.options.publishState)
    out.command(stateCommand(model.options.hostId, true, willTimestamp, broker));
  // What happened on it while we were away is unknown: ask the nodes we knew there (within the policy's limits).
  for (const node of model.nodes.values()) {
    if (node.stale && node.status !== "offline" && livesOn(node, broker))
      model.policy.request(scopeOf(node), "stale-after-reconnect", now);
  }
}

/** Every node whose session is on that broker (or on no broker we know of) is stale until it speaks. */
function brokerLost(model: HostModel, out: StepOutput, broker: string): void {
  model.brokers.delete(broker);
  out.emit({ kind: "broker-lost", broker });
  for (const node of model.nodes.values()) {
    if (!livesOn(node, broker)) continue;
    node.sequence?.forget();
    if (node.status === "offline") continue;
    node.stale = true;
    node.staleDeadline = undefined;
    for (const device of node.devices.values()) if (device.status !== "offline") device.stale = true;
  }
}

/** Does the node's session live on `broker`? (A node whose broker is not known may live anywhere.) */
function livesOn(node: EdgeNode, broker: string): boolean {
  return node.broker === undefined || node.broker === broker;
}
