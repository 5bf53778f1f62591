import type { KeptValues } from "../metric-table.js";

/** When and how often the host asks edge nodes to rebirth (design.md §4 `sparkplug.rebirth`). */
export interface RebirthOptions {
  /** DATA, DBIRTH or DDEATH from a node whose NBIRTH was not seen (or that is known dead). */
  onUnknownNode: boolean;
  /** A seq gap that the reorder timeout did not heal. */
  onSeqGap: boolean;
  /** A DATA metric whose alias or name is not in the birth. */
  onUnknownMetric: boolean;
  /** How long an out-of-order seq may wait for the missing messages (0: act at once). */
  reorderTimeoutMs: number;
  /** At most one request per node in this interval, counting requests other hosts sent. */
  minIntervalPerNodeMs: number;
  /** At most this many requests in any one-second window, across all nodes. */
  maxPerSecond: number;
  /** Each request first waits a random jitterMs/4..jitterMs, so replicas see each other's and send one. */
  jitterMs: number;
}

export interface HostOptions {
  /** Our STATE host id (already unique per pod). */
  hostId: string;
  /** Publish 3.0 STATE birth/death (the spec requires it of a host application). */
  publishState: boolean;
  rebirth: RebirthOptions;
  /** After an NBIRTH, how long previously known devices have to send their DBIRTH again. */
  deviceRebirthSettleMs: number;
  /** After a broker reconnect, how long a node may stay silent before it is declared offline. */
  staleTimeoutMs: number;
  /** A node known only from a certificate or retained birth gets a rebirth request after this long. */
  unprovenGraceMs: number;
  /** Which birth metric values the model keeps (scalars: what property mappings and selectors need). */
  birthValues: KeptValues;
  /** Keep each metric's current value up to date from DATA (the monitor does; discovery need not). */
  trackValues: boolean;
  /**
   * Decode the values of NDATA/DDATA metrics (off: DATA is only checked against the birth
   * tables, its values never read; `processed.payload` is then absent for DATA). Discovery
   * turns this off; `inspect` and the monitor show values, and tracking needs them.
   */
  decodeDataValues: boolean;
  /**
   * Check each node's seq (reorder, gaps). A host that subscribes to one device sees only
   * part of its node's sequence, so the monitor turns this off.
   */
  checkSequence: boolean;
}

export const defaultRebirthOptions: RebirthOptions = {
  onUnknownNode: true,
  onSeqGap: true,
  onUnknownMetric: true,
  reorderTimeoutMs: 2000,
  minIntervalPerNodeMs: 30000,
  maxPerSecond: 10,
  jitterMs: 500,
};

/** Host options with every default filled in. */
export function hostOptions(
  overrides: Partial<Omit<HostOptions, "rebirth">> & { rebirth?: Partial<RebirthOptions> },
): HostOptions {
  return {
    hostId: overrides.hostId ?? "akri-mqtt",
    publishState: overrides.publishState ?? true,
    rebirth: { ...defaultRebirthOptions, ...overrides.rebirth },
    deviceRebirthSettleMs: overrides.deviceRebirthSettleMs ?? 5000,
    staleTimeoutMs: overrides.staleTimeoutMs ?? 60000,
    unprovenGraceMs: overrides.unprovenGraceMs ?? 10000,
    birthValues: overrides.birthValues ?? (overrides.trackValues ? "all" : "scalars"),
    trackValues: overrides.trackValues ?? false,
    decodeDataValues: overrides.trackValues === true || (overrides.decodeDataValues ?? true),
    checkSequence: overrides.checkSequence ?? true,
  };
}
