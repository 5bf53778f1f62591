import type { Subscription } from "rxjs";
import type { DeviceListEmission } from "../../src/discovery/engine.js";
import { parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import type { ReportEntry } from "../../src/discovery/report.js";
import { ConnectionPool } from "../../src/mqtt/connection-pool.js";
import { type LiveDiscoveryOptions, liveDiscovery } from "../../src/streams/live-discovery.js";
import { eventually } from "./live-host.js";

/** A live discovery under test: every list it sends, and waits on them. */
export class DiscoveryProbe {
  readonly lists: DeviceListEmission[] = [];
  /** What the discovery reported (births, deaths, problems, …). */
  readonly report: ReportEntry[] = [];
  private readonly subscription: Subscription;

  constructor(
    detailsYaml: string,
    readonly pool = new ConnectionPool(),
    extra: Partial<LiveDiscoveryOptions> = {},
  ) {
    const parsed = parseDiscoveryDetails(detailsYaml);
    if (!parsed.ok) throw new Error(parsed.error);
    this.subscription = liveDiscovery({
      details: parsed.details,
      credentials: {},
      suffix: "test",
      pool,
      connection: { initialBackoffMs: 100, maxBackoffMs: 1000, connectTimeoutMs: 3000 },
      ...extra,
    }).subscribe((output) => {
      this.lists.push(...output.emissions);
      this.report.push(...output.report);
    });
  }

  /** Ids of the last list sent. */
  ids(): string[] {
    return this.lists.at(-1)?.devices.map((d) => d.id) ?? [];
  }

  latest(): DeviceListEmission | undefined {
    return this.lists.at(-1);
  }

  async waitForIds(expected: string[], what: string, timeoutMs = 10_000): Promise<void> {
    const want = JSON.stringify([...expected].sort());
    await eventually(
      () => JSON.stringify(this.ids()) === want,
      `${what}: ${want} (last sent: ${JSON.stringify(this.ids())})`,
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.subscription.unsubscribe();
    await this.pool.settled();
  }
}
