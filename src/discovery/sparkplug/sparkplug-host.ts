import type { Will } from "../../mqtt/connection.js";
import { type HostInput, HostSession } from "../../sparkplug/host/host-session.js";
import { stateWill } from "../../sparkplug/host/host-state.js";
import { type HostOptions, hostOptions } from "../../sparkplug/host/options.js";
import type { DiscoveryCommand } from "../discoverer.js";
import type { SharedReader } from "../shared-reading.js";
import type { SparkplugDiscoveryDetails } from "./details.js";
import { reportHostEvent } from "./report.js";
import { SparkplugView } from "./sparkplug-view.js";

/*
 * One Sparkplug host application for every Configuration that names it: one host session
 * (one decode, one seq tracker, one birth table per node, one STATE, one rebirth policy) and
 * a view per Configuration (sparkplug-view.ts). Quiet DATA stays on the session's quiet lane
 * and reaches no view; a step with events hands them to every view, each of which keeps
 * what its filters and selectors want. The settings that make the host itself (rebirth,
 * STATE, certificates) are the same for every view: `sharedHostSettings` lists them, and a
 * Configuration that differs is refused before it joins.
 */

export interface SparkplugHostOptions {
  /** This host's STATE host id (sparkplug.hostId plus this process's suffix). */
  hostId: string;
  /** Publish STATE (default: as the details say). */
  publishState?: boolean;
  random?: () => number;
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: Partial<Pick<HostOptions, "deviceRebirthSettleMs" | "staleTimeoutMs" | "unprovenGraceMs">>;
}

/** The host's STATE death as a Will, with each CONNECT's moment as its timestamp. */
function stateDeathWill(hostId: string): Will {
  const { topic, qos, retain } = stateWill(hostId, 0);
  return { topic, qos, retain, payload: (connectedAt) => stateWill(hostId, connectedAt).payload };
}

/** The birth metric values a Configuration reads: what its property mappings and `equals` selectors name. */
function birthValuesOf(details: SparkplugDiscoveryDetails): string[] {
  const sp = details.sparkplug;
  const compared = sp.birthMetrics.filter((s) => s.equals !== undefined).map((s) => s.name);
  return [...compared, ...Object.values(sp.properties)];
}

/** What every Configuration of one host must agree on, by the key a user writes. */
export function sharedHostSettings(details: SparkplugDiscoveryDetails): Record<string, unknown> {
  const sp = details.sparkplug;
  const settings: Record<string, unknown> = {
    "sparkplug.publishState": sp.publishState,
    "sparkplug.useCertificates": sp.useCertificates,
  };
  for (const [key, value] of Object.entries(sp.rebirth)) settings[`sparkplug.rebirth.${key}`] = value;
  return settings;
}

export class SparkplugHost implements SharedReader<SparkplugDiscoveryDetails> {
  readonly session: HostSession;
  readonly will: Will | undefined;
  readonly stateHostId: string | undefined;
  /** The birth values the session keeps: every view's, grown as views join. */
  private readonly kept = new Set<string>();
  private readonly views = new Set<SparkplugView>();

  constructor(details: SparkplugDiscoveryDetails, options: SparkplugHostOptions) {
    const sp = details.sparkplug;
    const publishState = options.publishState ?? sp.publishState;
    for (const name of birthValuesOf(details)) this.kept.add(name);
    this.session = new HostSession(
      hostOptions("discovery", {
        hostId: options.hostId,
        publishState,
        rebirth: sp.rebirth,
        // Only the birth values that property mappings and selectors read are kept.
        birthValues: this.kept,
        ...options.host,
      }),
      options.random,
    );
    this.stateHostId = publishState ? options.hostId : undefined;
    this.will = publishState ? stateDeathWill(options.hostId) : undefined;
  }

  get nodes() {
    return this.session.nodes;
  }

  /**
   * A view for a Configuration, with what the host knows already. Births kept before it
   * joined lack the values only it reads: it lists no node born before it joined (a value
   * read as absent would make a wrong id), and those nodes are asked for a rebirth within the
   * rebirth policy's limits, as a host of its own would have asked on hearing them (a node
   * asked within minIntervalPerNodeMs is not asked again: it is listed at its next birth).
   */
  join(details: SparkplugDiscoveryDetails, now: number, commands: DiscoveryCommand[]): SparkplugView {
    const missing = birthValuesOf(details).filter((name) => !this.kept.has(name));
    for (const name of missing) this.kept.add(name);
    const born = [...this.session.nodes.values()].filter((node) => node.birth !== undefined);
    const late = missing.length > 0 && born.length > 0;
    if (late)
      for (const node of born)
        this.step({ kind: "request-rebirth", group: node.group, edge: node.edge }, now, commands);
    const view = new SparkplugView(details, this, late ? now : undefined);
    view.catchUp(now);
    this.views.add(view);
    return view;
  }

  leave(view: SparkplugView): void {
    this.views.delete(view);
  }

  /** One step of the session; its events go to every view. True when there were any. */
  step(input: HostInput, now: number, commands: DiscoveryCommand[]): boolean {
    const step = this.session.step(input, now);
    for (const command of step.commands) commands.push(command);
    if (step.events.length === 0) return false;
    const entries = step.events.map(reportHostEvent);
    for (const view of this.views) view.absorb(step.events, entries, now);
    return true;
  }

  nextDeadline(): number | undefined {
    return this.session.nextDeadline();
  }
}
