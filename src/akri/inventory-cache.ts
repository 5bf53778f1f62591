import type { DeviceStatus } from "../discovery/device.js";
import type { DeviceListEmission } from "../discovery/engine.js";

/*
 * /devices bodies, built once and served again while what they show is unchanged. At 11,000
 * entities `?all=true` is ~6 MB of JSON and 90-150 ms of the event loop to build, and every
 * open fleet page asks for it every 2 s; discovery waits meanwhile.
 *
 * A body is served again while its key is the same and it is younger than MAX_AGE_MS. The
 * key is, first, the Akri layer's count of what its streams produced (opened, closed, each
 * list sent, each report entry, each newly listed device, instance-hash collisions): births,
 * deaths, seq gaps, rebirth requests, what is listed and why not all come with one of those.
 * Second, a fingerprint of what changes with no output at all but people watch: each listed
 * device's status and, with several brokers, the broker it is on, both read live from the
 * model (a stale node proven alive by its traffic, a generic device gone idle or publishing
 * on another broker), and each broker's connection (and its problem). It costs a status lookup per
 * listed device, 1-2 ms at 10,000 (npm run bench:inventory). What neither covers changes
 * under every message and is read as a time (a generic device's "last message"), or is
 * rarely looked at (the status of an entity that is not listed): the age limit bounds how
 * old that can be, and a page polled every 2 s sees it move every few polls.
 */

/** The longest a body is served again without being rebuilt. */
const MAX_AGE_MS = 5000;

const STATUS_CODES: Record<DeviceStatus, number> = { online: 1, stale: 2, offline: 3 };

/** What of a stream the fingerprint reads. */
interface ShownStream {
  lastSent: Pick<DeviceListEmission, "devices" | "statusOf" | "brokerOf"> | undefined;
  about: { brokers: () => readonly { uri: string; connected: boolean; problem?: string }[] };
}

/**
 * A number that changes when any listed device's status, any listed device's broker (with
 * several) or any broker's connection does
 * (a polynomial hash: one change always moves it; two at once cancel with odds of 1 in 2^32,
 * and the age limit catches even that).
 */
export function liveFingerprint(streams: readonly ShownStream[]): number {
  let hash = streams.length;
  for (const stream of streams) {
    const brokers = stream.about.brokers();
    for (const broker of brokers)
      hash = (Math.imul(hash, 31) + (broker.connected ? 1 : broker.problem === undefined ? 2 : 3)) | 0;
    const sent = stream.lastSent;
    if (!sent) continue;
    const several = brokers.length > 1;
    for (const device of sent.devices) {
      hash = (Math.imul(hash, 31) + STATUS_CODES[sent.statusOf(device.id) ?? "offline"]) | 0;
      if (several) {
        const on = sent.brokerOf(device.id);
        hash = (Math.imul(hash, 31) + brokers.findIndex((b) => b.uri === on)) | 0;
      }
    }
  }
  return hash;
}

export class InventoryCache {
  private readonly bodies = new Map<string, { key: string; at: number; body: string }>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxAgeMs = MAX_AGE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The body of `variant` for `key`: the one kept if it is young enough, else `build()`'s. */
  get(variant: string, key: string, build: () => string): string {
    const now = this.now();
    const kept = this.bodies.get(variant);
    if (kept && kept.key === key && now - kept.at < this.maxAgeMs) return kept.body;
    const body = build();
    this.bodies.set(variant, { key, at: now, body });
    this.scheduleSweep();
    return body;
  }

  /** Bodies nobody asked for again are let go (a few MB each at 10,000 devices). */
  private scheduleSweep(): void {
    if (this.sweep) return;
    this.sweep = setTimeout(() => {
      this.sweep = undefined;
      const now = this.now();
      for (const [variant, kept] of this.bodies)
        if (now - kept.at >= this.maxAgeMs) this.bodies.delete(variant);
      if (this.bodies.size > 0) this.scheduleSweep();
    }, this.maxAgeMs);
    this.sweep.unref();
  }
}
