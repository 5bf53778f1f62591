import type { MqttMessage } from "../../mqtt/message.js";
import { earlier } from "../../time/deadline.js";
import { DataType } from "../datatype.js";
import { type DataSummary, type DecodeResult, decodePayload, summarizeData } from "../decode.js";
import { encodePayload } from "../encode.js";
import type { MetricTable } from "../metric-table.js";
import { REBIRTH_METRIC } from "../payload.js";
import { parseStatePayload } from "../state.js";
import { type EdgeTopic, edgeTopic, parseTopic } from "../topic.js";
import {
  allChanged,
  findNode,
  getNode,
  type HostModel,
  type MessageContext,
  nodeChanged,
  type ProcessedMessage,
  requestRebirth,
  StepOutput,
  scheduleNode,
  scopeOf,
  sequenceOf,
  startStaleDeadline,
  type TimelineEntry,
} from "./context.js";
import { handleData, settleDevices } from "./data.js";
import { handleDeviceBirth, handleUnprovenDeviceBirth } from "./device-birth.js";
import { handleDeviceDeath } from "./device-death.js";
import type { HostCommand, HostEvent } from "./events.js";
import { handleHostState, stateCommand } from "./host-state.js";
import type { EdgeNode, HostApplication } from "./model.js";
import { handleNodeBirth, handleUnprovenNodeBirth } from "./node-birth.js";
import { handleNodeCommand } from "./node-command.js";
import { handleNodeDeath, markNodeDead } from "./node-death.js";
import type { HostOptions } from "./options.js";
import { QuietLane } from "./quiet-lane.js";
import { RebirthPolicy } from "./rebirth-policy.js";

/** What drives the session: messages, the passing of time, and the broker connection. */
export type HostInput =
  | { kind: "message"; message: MqttMessage }
  | { kind: "tick" }
  /** Connected and subscribed; `willTimestamp` is the one in the Will registered at CONNECT. */
  | { kind: "broker-online"; broker: string; willTimestamp: number }
  | { kind: "broker-lost"; broker: string }
  /** Ask a node for a rebirth (within the policy's limits): e.g. to confirm a saved alias table. */
  | { kind: "request-rebirth"; group: string; edge: string }
  | { kind: "shutdown" };

export interface HostStep {
  /** Messages processed in this step, in processing order (held messages when released). */
  processed: ProcessedMessage[];
  /** Processed messages and events of no message, in the order they happened. */
  timeline: TimelineEntry[];
  /** Every event of this step, in order. */
  events: HostEvent[];
  commands: HostCommand[];
}

/**
 * A Sparkplug 3.0 host application's view of the namespace: groups → edge nodes → devices,
 * who is alive, birth tables, sequence numbers, rebirth requests, host STATE.
 *
 * It is a reducer: `step(input, now)` applies one input at time `now` and returns the
 * events and commands it caused. It does no I/O and never reads a clock, so the same
 * inputs always give the same outputs (replay and tests run on virtual time). The state is
 * updated in place: copying a 100,000-device model per message is not an option.
 */
/** The step of a DATA message that changed nothing but its node's seq: shared, never changed. */
const QUIET_STEP: HostStep = Object.freeze({
  processed: Object.freeze([]) as unknown as ProcessedMessage[],
  timeline: Object.freeze([]) as unknown as TimelineEntry[],
  events: Object.freeze([]) as unknown as HostEvent[],
  commands: Object.freeze([]) as unknown as HostCommand[],
});

export class HostSession {
  private readonly model: HostModel;
  private readonly quiet: QuietLane;

  constructor(options: HostOptions, random: () => number = Math.random) {
    this.model = {
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
    this.quiet = new QuietLane(this.model);
  }

  /** Edge nodes by `<group>/<edge>`. */
  get nodes(): ReadonlyMap<string, EdgeNode> {
    return this.model.nodes;
  }

  /** Other host applications, by `<version>:<hostId>`. */
  get hosts(): ReadonlyMap<string, HostApplication> {
    return this.model.hosts;
  }

  get options(): HostOptions {
    return this.model.options;
  }

  node(group: string, edge: string): EdgeNode | undefined {
    return findNode(this.model, group, edge);
  }

  /** The birth table that decodes DATA on `topic` (the node's or the device's). */
  tableFor(topic: EdgeTopic, node = this.node(topic.group, topic.edge)): MetricTable | undefined {
    if (!node) return undefined;
    if (topic.kind === "node") return node.birth?.metrics;
    return node.devices.get(topic.device)?.birth?.metrics;
  }

  /** Decodes an edge message with its birth table; DATA only summarised when values are not wanted. */
  private decode(
    topic: EdgeTopic,
    bytes: Uint8Array,
    node = this.node(topic.group, topic.edge),
  ): DecodeResult | DataSummary {
    const table = this.tableFor(topic, node);
    if (!this.model.options.decodeDataValues && (topic.verb === "NDATA" || topic.verb === "DDATA"))
      return summarizeData(bytes, { table });
    return decodePayload(bytes, { table });
  }

  /** Applies one input at time `now` (ms). Never throws on any message content. */
  step(input: HostInput, now: number): HostStep {
    if (input.kind === "message" && !this.model.options.decodeDataValues && this.quiet.take(input.message)) {
      const due = this.model.policy.nextDeadline();
      if (due === undefined || due > now) return QUIET_STEP;
      const out = new StepOutput();
      this.releaseRebirths(out, now);
      return { processed: out.processed, timeline: out.timeline, events: out.events, commands: out.commands };
    }
    const out = new StepOutput();
    // What is not a message may touch any node (an edge message dates its change on its node).
    if (input.kind !== "message") allChanged(this.model);
    switch (input.kind) {
      case "message":
        this.onMessage(out, input.message, now);
        break;
      case "tick":
        this.onTick(out, now);
        break;
      case "broker-online":
        this.onBrokerOnline(out, input.broker, input.willTimestamp, now);
        break;
      case "broker-lost":
        this.onBrokerLost(out, input.broker);
        break;
      case "request-rebirth":
        requestRebirth(this.model, { group: input.group, edge: input.edge }, "unproven-birth", now);
        break;
      case "shutdown":
        // Our STATE death on every broker we are connected to, before we disconnect.
        if (this.model.options.publishState)
          for (const broker of this.model.brokers.keys())
            out.command(stateCommand(this.model.options.hostId, false, now, broker));
        break;
    }
    this.releaseRebirths(out, now);
    return { processed: out.processed, timeline: out.timeline, events: out.events, commands: out.commands };
  }

  /** The earliest time a tick has something to do, if any. */
  nextDeadline(): number | undefined {
    const { policy, timed, timedFrom } = this.model;
    return earlier(policy.nextDeadline(), timed.size > 0 ? timedFrom : undefined);
  }

  /** The earliest deadline the node has (reorder gap, device settle, stale, unproven grace), if any. */
  private deadlineOf(node: EdgeNode): number | undefined {
    const { options } = this.model;
    const gap = node.sequence?.gapOpenedAt;
    const unproven = node.unprovenSince;
    let next = gap === undefined ? undefined : gap + options.rebirth.reorderTimeoutMs;
    next = earlier(next, node.deviceSettleDeadline);
    next = earlier(next, node.staleDeadline);
    return earlier(next, unproven === undefined ? undefined : unproven + options.unprovenGraceMs);
  }

  private onMessage(out: StepOutput, message: MqttMessage, now: number): void {
    const topic = parseTopic(message.topic);
    const processed: ProcessedMessage = { message, topic, events: [] };
    out.begin(processed);
    try {
      switch (topic.kind) {
        case "not-sparkplug":
          out.emit({ kind: "not-sparkplug", topic: message.topic, reason: topic.reason });
          break;
        case "state": {
          allChanged(this.model);
          const parsed = parseStatePayload(message.payload, topic.version);
          if (!parsed.ok) {
            out.emit({ kind: "protocol-warning", topic: message.topic, message: parsed.error });
            break;
          }
          processed.state = parsed.state;
          handleHostState({
            model: this.model,
            out,
            now,
            message,
            topic,
            payload: parsed.state,
            processed,
            node: undefined,
            source: message.retain ? "retained" : "live",
          });
          break;
        }
        case "certificate": {
          allChanged(this.model);
          const decoded = decodePayload(message.payload);
          if (!decoded.ok) {
            out.emit({
              kind: "decode-error",
              topic: message.topic,
              message: decoded.error.message,
              offset: decoded.error.offset,
            });
            break;
          }
          processed.payload = decoded.payload;
          const ctx: MessageContext = {
            model: this.model,
            out,
            now,
            message,
            topic: topic.birth,
            payload: decoded.payload,
            processed,
            node: findNode(this.model, topic.birth.group, topic.birth.edge),
            source: "certificate",
          };
          if (topic.birth.verb === "NBIRTH") handleUnprovenNodeBirth(ctx);
          else handleUnprovenDeviceBirth(ctx);
          break;
        }
        default:
          this.onEdgeMessage(out, processed, topic, now);
      }
    } finally {
      out.end();
    }
  }

  private onEdgeMessage(out: StepOutput, processed: ProcessedMessage, topic: EdgeTopic, now: number): void {
    const { message } = processed;
    const known = findNode(this.model, topic.group, topic.edge);
    // (A node made by this message is in no quiet route yet.)
    if (known !== undefined) nodeChanged(this.model, known);
    const decoded = this.decode(topic, message.payload, known);
    if (!decoded.ok) {
      out.emit({
        kind: "decode-error",
        topic: message.topic,
        message: decoded.error.message,
        offset: decoded.error.offset,
      });
      return;
    }
    const payload = decoded.payload;
    const unresolved = "unresolved" in decoded ? decoded.unresolved : undefined;
    if (unresolved === undefined) processed.payload = payload;
    const ctx: MessageContext = {
      model: this.model,
      out,
      now,
      message,
      topic,
      payload,
      unresolved,
      processed,
      node: known,
      source: message.retain ? "retained" : "live",
    };
    if (message.retain && topic.verb !== "NCMD" && topic.verb !== "DCMD") {
      out.emit({ kind: "retained-message", topic: message.topic });
      // A retained birth is of unknown age: it teaches tables, not liveness. Other retained edge messages are ignored.
      if (topic.verb === "NBIRTH") handleUnprovenNodeBirth(ctx);
      if (topic.verb === "DBIRTH") handleUnprovenDeviceBirth(ctx);
      return;
    }
    switch (topic.verb) {
      case "NCMD":
        handleNodeCommand(ctx);
        return;
      case "DCMD":
        // A command to a device changes nothing the host tracks.
        return;
      case "NDEATH":
        handleNodeDeath(ctx);
        return;
      case "NBIRTH":
        handleNodeBirth(ctx);
        return;
      default: {
        const node = known ?? getNode(this.model, topic.group, topic.edge);
        ctx.node = node;
        this.onSequencedMessage(ctx, node);
      }
    }
  }

  /** DBIRTH, NDATA, DDATA, DDEATH: through the node's seq check, then processed in order. */
  private onSequencedMessage(ctx: MessageContext, node: EdgeNode): void {
    const { out, now, topic, payload, message } = ctx;
    if (message.broker !== undefined) node.heardOn = message.broker;
    this.proveAlive(out, node);
    if (!this.model.options.checkSequence) {
      this.process(ctx);
      return;
    }
    if (payload.seq === undefined || payload.seq > 255) {
      out.emit({
        kind: "protocol-warning",
        topic: message.topic,
        message:
          payload.seq === undefined ? `${topic.verb} has no seq` : `seq ${payload.seq} is outside 0-255`,
      });
      this.process(ctx);
      return;
    }
    const tracker = sequenceOf(node);
    const verdict = tracker.accept(payload.seq, ctx, now);
    switch (verdict.kind) {
      case "in-order": {
        const healing = tracker.gapOpenedAt;
        this.process(ctx);
        for (const held of tracker.releaseInOrder()) this.processHeld(out, held.item, held.heldAt, now);
        if (healing !== undefined && tracker.gapOpenedAt === undefined) {
          out.emit({ kind: "reorder-healed", ...scopeOf(node), seq: payload.seq, waitedMs: now - healing });
        }
        return;
      }
      case "held":
        out.end();
        out.retract(ctx.processed);
        if (verdict.opened) {
          out.emit({ kind: "seq-gap", ...scopeOf(node), expected: verdict.expected, received: payload.seq });
          scheduleNode(this.model, node, now + this.model.options.rebirth.reorderTimeoutMs);
          if (this.model.options.rebirth.reorderTimeoutMs <= 0) this.expireGap(out, node, now);
        }
        return;
      case "duplicate":
        out.emit({ kind: "seq-duplicate", ...scopeOf(node), seq: payload.seq });
        return;
      case "overflow":
        // A birth of hundreds of devices after a lost message: give the gap up now, not
        // after the timeout (the rest of the birth would be dropped as duplicates).
        out.end();
        out.retract(ctx.processed);
        this.expireGap(out, node, now);
        tracker.accept(payload.seq, ctx, now);
        this.processHeld(out, ctx, now, now);
        return;
    }
  }

  /** Live traffic from a node known only from a certificate, or stale after a reconnect, proves it alive. */
  private proveAlive(out: StepOutput, node: EdgeNode): void {
    if (node.stale && node.status === "online") {
      node.stale = false;
      node.staleDeadline = undefined;
    }
    if (node.status === "unknown" && node.birth !== undefined && node.birth.source !== "live") {
      node.status = "online";
      node.stale = false;
      out.emit({
        kind: "node-born",
        group: node.group,
        edge: node.edge,
        bdSeq: node.bdSeq?.toString(),
        reborn: false,
        source: node.birth.source,
      });
    }
  }

  private process(ctx: MessageContext): void {
    switch (ctx.topic.verb) {
      case "DBIRTH":
        handleDeviceBirth(ctx);
        return;
      case "DDEATH":
        handleDeviceDeath(ctx);
        return;
      default:
        handleData(ctx);
    }
  }

  /** Processes a message released from the reorder buffer, decoded again with today's tables. */
  private processHeld(out: StepOutput, ctx: MessageContext, heldAt: number, now: number): void {
    // It is handled in this step, at this time: not in the one that held it back.
    ctx.out = out;
    ctx.now = now;
    const decoded = this.decode(ctx.topic, ctx.message.payload);
    if (decoded.ok) {
      ctx.payload = decoded.payload;
      ctx.unresolved = "unresolved" in decoded ? decoded.unresolved : undefined;
      if (ctx.unresolved === undefined) ctx.processed.payload = decoded.payload;
    }
    ctx.processed.heldMs = now - heldAt;
    out.begin(ctx.processed);
    try {
      this.process(ctx);
    } finally {
      out.end();
    }
  }

  private expireGap(out: StepOutput, node: EdgeNode, now: number): void {
    const { released, missing } = sequenceOf(node).expire();
    out.emit({ kind: "reorder-expired", ...scopeOf(node), missing });
    for (const held of released) this.processHeld(out, held.item, held.heldAt, now);
    requestRebirth(this.model, scopeOf(node), "seq-gap", now);
  }

  private onTick(out: StepOutput, now: number): void {
    const { options, nodes, timed, timedFrom } = this.model;
    // A tick for the rebirth policy alone: no node's deadline has come.
    if (timedFrom === undefined || now < timedFrom) return;
    // Recomputed from what is left; a node scheduled during the scan lowers it again.
    this.model.timedFrom = undefined;
    let next: number | undefined;
    for (const key of [...timed]) {
      const node = nodes.get(key);
      if (!node) {
        timed.delete(key);
        continue;
      }
      const gap = node.sequence?.gapOpenedAt;
      if (gap !== undefined && now >= gap + options.rebirth.reorderTimeoutMs) this.expireGap(out, node, now);
      if (node.deviceSettleDeadline !== undefined && now >= node.deviceSettleDeadline)
        settleDevices(out, node, now);
      if (node.unprovenSince !== undefined && now >= node.unprovenSince + options.unprovenGraceMs) {
        node.unprovenSince = undefined;
        const unproven =
          node.status !== "online" || [...node.devices.values()].some((d) => d.status === "unknown");
        if (unproven) requestRebirth(this.model, scopeOf(node), "unproven-birth", now);
      }
      if (node.staleDeadline !== undefined && now >= node.staleDeadline) {
        node.staleDeadline = undefined;
        if (node.stale && node.status !== "offline") markNodeDead(out, node, now, "silent-after-reconnect");
      }
      const at = this.deadlineOf(node);
      if (at === undefined) timed.delete(key);
      else next = earlier(next, at);
    }
    this.model.timedFrom = earlier(this.model.timedFrom, next);
  }

  private onBrokerOnline(out: StepOutput, broker: string, willTimestamp: number, now: number): void {
    this.model.brokers.set(broker, willTimestamp);
    out.emit({ kind: "broker-online", broker });
    if (this.model.options.publishState) {
      out.command(stateCommand(this.model.options.hostId, true, willTimestamp, broker));
    }
    // What happened on it while we were away is unknown: ask the nodes we knew there (within the policy's limits).
    for (const node of this.model.nodes.values()) {
      if (node.stale && node.status !== "offline" && livesOn(node, broker))
        requestRebirth(this.model, scopeOf(node), "stale-after-reconnect", now);
    }
  }

  /** Every node whose session is on that broker (or on no broker we know of) is stale until it speaks. */
  private onBrokerLost(out: StepOutput, broker: string): void {
    this.model.brokers.delete(broker);
    out.emit({ kind: "broker-lost", broker });
    for (const node of this.model.nodes.values()) {
      if (!livesOn(node, broker)) continue;
      node.sequence?.forget();
      if (node.status === "offline") continue;
      node.stale = true;
      node.staleDeadline = undefined;
      for (const device of node.devices.values()) if (device.status !== "offline") device.stale = true;
    }
  }

  /** Turns due rebirth requests into NCMD commands. */
  private releaseRebirths(out: StepOutput, now: number): void {
    for (const request of this.model.policy.due(now)) {
      const { group, edge } = request.scope;
      const node = findNode(this.model, group, edge);
      if (node !== undefined) nodeChanged(this.model, node);
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
      startStaleDeadline(this.model, node, now);
    }
  }
}

/** Does the node's session live on `broker`? (A node whose broker is not known may live anywhere.) */
function livesOn(node: EdgeNode, broker: string): boolean {
  return node.broker === undefined || node.broker === broker;
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
