import type { MqttMessage } from "../../mqtt/message.js";
import { dateChange, INPUT_REACH } from "./changes.js";
import { findNode, type HostModel, newHostModel } from "./host-model.js";
import { ingest } from "./ingress.js";
import type { Birth, EdgeNode, HostApplication } from "./model.js";
import type { HostOptions } from "./options.js";
import { QuietLane } from "./quiet-lane.js";
import { type HostStep, QUIET_STEP, StepOutput } from "./step.js";
import { applyTimerInput, nextDeadline, releaseRebirths, type TimerInput } from "./timers.js";

/** What drives the session: messages, the passing of time, the broker connection and the caller. */
export type HostInput = { kind: "message"; message: MqttMessage } | TimerInput;

/**
 * A Sparkplug 3.0 host application's view of the namespace: groups → edge nodes → devices,
 * who is alive, birth tables, sequence numbers, rebirth requests, host STATE.
 *
 * It is a reducer: `step(input, now)` applies one input at time `now` and returns the
 * events and commands it caused. It does no I/O and never reads a clock, so the same
 * inputs always give the same outputs (replay and tests run on virtual time). The state is
 * changed in place: copying a 100,000-device model per message is not an option.
 *
 * A step is a short walk through stages: quiet DATA ends on the quiet lane (quiet-lane.ts);
 * any other message goes through ingress (ingress.ts: topic, the date of what it may change,
 * STATE, certificates, retained, decode, the verb's route), ordering for what carries a seq
 * (ordering.ts) and its handler; any other input dates all nodes and goes to the timers
 * (timers.ts). Every step ends by sending the rebirth requests that are due.
 */
export class HostSession {
  private readonly model: HostModel;
  /** Only a profile that reads no DATA value has one: its DATA is checked, never interpreted. */
  private readonly quiet: QuietLane | undefined;

  constructor(options: HostOptions, random: () => number = Math.random) {
    this.model = newHostModel(options, random);
    this.quiet = options.decodeDataValues ? undefined : new QuietLane(this.model);
  }

  /** Edge nodes by `<group>/<edge>`. */
  get nodes(): ReadonlyMap<string, EdgeNode> {
    return this.model.nodes;
  }

  /** Other host applications, by `<version>:<hostId>`. */
  get hosts(): ReadonlyMap<string, HostApplication> {
    return this.model.hosts;
  }

  node(group: string, edge: string): EdgeNode | undefined {
    return findNode(this.model, group, edge);
  }

  /** Applies one input at time `now` (ms). Never throws on any message content. */
  step(input: HostInput, now: number): HostStep {
    const { model } = this;
    if (input.kind === "message" && this.quiet?.take(input.message)) return this.afterQuiet(now);
    const out = new StepOutput();
    if (input.kind === "message") ingest(model, input.message, out, now);
    else {
      dateChange(model, INPUT_REACH);
      applyTimerInput(model, input, out, now);
    }
    releaseRebirths(model, out, now);
    return out.result();
  }

  /** Quiet DATA changed nothing but its node's seq: the shared empty step, unless a rebirth request is due. */
  private afterQuiet(now: number): HostStep {
    const due = this.model.policy.nextDeadline();
    if (due === undefined || due > now) return QUIET_STEP;
    const out = new StepOutput();
    releaseRebirths(this.model, out, now);
    return out.result();
  }

  /** The earliest time a tick has something to do, if any. */
  nextDeadline(): number | undefined {
    return nextDeadline(this.model);
  }

  /**
   * FOR AUDITS ONLY (test/support/quiet-audit.ts): the DATA topics whose kept birth the quiet
   * lane trusts now. Nothing on the message path reads it.
   */
  quietEntriesForAudit(): [topic: string, birth: Birth][] {
    return this.quiet?.trustedForAudit() ?? [];
  }
}
