import type { MqttMessage } from "../../mqtt/message.js";
import { quietDataSeq } from "../quiet-data.js";
import { dataTopicLevels } from "../topic.js";
import { findNode, type HostModel } from "./host-model.js";
import type { Birth, Device, EdgeNode } from "./model.js";

/*
 * The host's quiet lane: live DATA, next in its node's seq, from an online node (and
 * device) whose birth has every metric it names. Such a message changes nothing but the
 * node's seq (and the broker it was heard on) and causes no event; it is most of what a
 * host ever receives, so it is applied here in one pass and its step is a shared empty one
 * (QUIET_STEP in step.ts; it is not recorded in `processed`, which only `inspect` and the
 * monitor read, and they decode values, so they never take this lane).
 *
 * What it costs is mostly memory latency: the per-device state of a large plant is never
 * in the CPU's caches when its next message arrives. So a topic found quiet once is kept
 * with its birth (which knows its node and table): the next message on it is one Map lookup
 * away from them, instead of the walk from group to edge node to device to birth. The kept
 * birth is trusted only while nothing has changed about its node since it was checked:
 * every step that is not quiet dates a change on the node it may touch, or on all nodes
 * (changes.ts), and a topic checked before that change is checked again in full.
 */
export class QuietLane {
  /** DATA topic → the birth that decodes it, as of `Birth.quietAt`. Keys are the entities' own topic strings. */
  private readonly births = new Map<string, Birth>();

  constructor(private readonly model: HostModel) {}

  /**
   * Applies `message` if it is quiet DATA and says so. When it is not, nothing has changed
   * and the message takes the full path, which decides (and reports) what it is.
   */
  take(message: MqttMessage): boolean {
    if (message.retain) return false;
    const { model } = this;
    const kept = this.births.get(message.topic);
    if (kept !== undefined && this.trusts(kept)) return this.apply(kept, message);
    const entity = this.check(message.topic);
    if (entity === undefined) return false;
    const { birth } = entity;
    if (birth === undefined || !this.apply(birth, message)) return false;
    birth.quietAt = model.changes;
    this.births.set(entity.dataTopic, birth);
    return true;
  }

  /** Is the kept birth still what a check would find? Yes while no change is dated after it was checked. */
  private trusts(kept: Birth): boolean {
    return kept.quietAt >= kept.node.changedAt && kept.quietAt >= this.model.allChangedAt;
  }

  /**
   * FOR AUDITS ONLY (test/support/quiet-audit.ts): each DATA topic whose kept birth the lane
   * trusts now, so a test can look it up afresh and compare. Nothing on the message path reads it.
   */
  trustedForAudit(): [topic: string, birth: Birth][] {
    return [...this.births].filter(([, birth]) => this.trusts(birth));
  }

  /** The online node or device whose DATA `topic` is, if DATA on it can be quiet. */
  private check(topic: string): EdgeNode | Device | undefined {
    // Unchecked levels: they only find a node and device the session made from checked ones.
    const levels = dataTopicLevels(topic);
    if (levels === undefined) return undefined;
    const node = findNode(this.model, levels.group, levels.edge);
    if (
      node === undefined ||
      node.status !== "online" ||
      node.stale ||
      node.deviceSettleDeadline !== undefined
    )
      return undefined;
    if (levels.device === undefined) return node;
    const device = node.devices.get(levels.device);
    if (device === undefined || device.status !== "online" || device.awaitingBirth) return undefined;
    return device;
  }

  /** Takes the message's seq if every metric is in the birth and it is next; false, changing nothing, if not. */
  private apply(birth: Birth, message: MqttMessage): boolean {
    const { payload } = message;
    const seq = quietDataSeq(payload, birth.metrics);
    if (seq === undefined) return false;
    const { node } = birth;
    if (this.model.options.checkSequence) {
      const tracker = node.sequence;
      if (tracker === undefined || !tracker.acceptNext(seq)) return false;
    }
    if (message.broker !== undefined) node.heardOn = message.broker;
    return true;
  }
}
