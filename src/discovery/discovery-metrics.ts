import type { Counter, Registry } from "prom-client";
import { metricFactory } from "../metrics.js";
import type { ReportEntry } from "./report.js";

/*
 * What discoveries report, counted: births, deaths, seq gaps, rebirth requests, decode
 * errors, rejected messages, and every other problem in the traffic by kind. Each kind is
 * counted once however many of its lines the log suppresses.
 */

type Labels = (entry: ReportEntry) => Record<string, string> | undefined;

const label = (value: unknown): string => (value === undefined ? "" : String(value));

export class DiscoveryMetrics {
  /** The counter (and labels) of each kind with a counter of its own. */
  private readonly counted: ReadonlyMap<string, [Counter, Labels]>;
  private readonly problems: Counter;

  constructor(registry: Registry) {
    const { counter } = metricFactory(registry);
    const births = counter("births_total", "Edge node and device births", ["entity", "source"]);
    const deaths = counter("deaths_total", "Edge node and device deaths", ["entity", "reason"]);
    const rebirths = counter("rebirths_requested_total", "Rebirth requests sent", ["reason"]);
    const rejected = counter(
      "messages_rejected_total",
      "Messages skipped before decoding (payload larger than maxPayloadBytes)",
      ["reason"],
    );
    const none: Labels = () => undefined;
    const field =
      (labelName: string, fieldName: string, fixed: Record<string, string> = {}): Labels =>
      (entry) => ({ ...fixed, [labelName]: label(entry.fields[fieldName]) });
    this.counted = new Map<string, [Counter, Labels]>([
      ["node-born", [births, field("source", "source", { entity: "node" })]],
      ["device-born", [births, field("source", "source", { entity: "device" })]],
      ["node-died", [deaths, field("reason", "reason", { entity: "node" })]],
      ["device-died", [deaths, field("reason", "reason", { entity: "device" })]],
      [
        "stale-death-ignored",
        [counter("stale_deaths_ignored_total", "NDEATHs of an earlier session, ignored"), none],
      ],
      ["seq-gap", [counter("seq_gaps_total", "Sequence number gaps detected"), none]],
      [
        "reorder-healed",
        [counter("reorder_healed_total", "Sequence gaps filled within the reorder timeout"), none],
      ],
      ["rebirth-requested", [rebirths, field("reason", "reason")]],
      [
        "rebirth-observed",
        [
          counter("rebirths_observed_total", "Rebirth requests seen on the broker (ours and other hosts')"),
          none,
        ],
      ],
      [
        "decode-error",
        [counter("decode_errors_total", "Sparkplug payloads that could not be decoded"), none],
      ],
      ["payload-too-large", [rejected, (entry) => ({ reason: entry.kind })]],
    ]);
    this.problems = counter("protocol_problems_total", "Protocol problems in received traffic", ["kind"]);
  }

  /** Counts what one step reports. */
  observe(report: readonly ReportEntry[]): void {
    for (const entry of report) {
      const counted = this.counted.get(entry.kind);
      if (counted) {
        const labels = counted[1](entry);
        if (labels) counted[0].inc(labels);
        else counted[0].inc();
      } else if (entry.problem) this.problems.inc({ kind: entry.kind });
    }
  }
}
