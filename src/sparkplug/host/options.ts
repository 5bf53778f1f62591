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

/**
 * What a host session is for, which fixes how it reads traffic:
 * - `discovery` lists devices: it publishes STATE (unless its details say not to), checks
 *   each node's seq and reads no DATA value (DATA is checked against the birth tables only,
 *   most of it on the quiet lane);
 * - `monitor` watches one device: it decodes and tracks every metric's current value, and
 *   does not check seq (it sees one device of the node: a "gap" is other devices' traffic);
 * - `inspect` prints what arrives: values decoded, seq checked, nothing published.
 */
export type HostProfile = "discovery" | "monitor" | "inspect";

/** How a profile reads traffic (HostOptions carries them, so code asks what it needs). */
interface ProfileTraits {
  /** Publish 3.0 STATE birth/death (the spec requires it of a host application). */
  readonly publishState: boolean;
  /** Keep each metric's current value up to date from DATA. */
  readonly trackValues: boolean;
  /**
   * Decode the values of NDATA/DDATA metrics (off: DATA is only checked against the birth
   * tables, its values never read; `processed.payload` is then absent for DATA).
   */
  readonly decodeDataValues: boolean;
  /** Check each node's seq (reorder, gaps). */
  readonly checkSequence: boolean;
}

const PROFILES: { readonly [P in HostProfile]: ProfileTraits } = {
  discovery: { publishState: true, trackValues: false, decodeDataValues: false, checkSequence: true },
  monitor: { publishState: false, trackValues: true, decodeDataValues: true, checkSequence: false },
  inspect: { publishState: false, trackValues: false, decodeDataValues: true, checkSequence: true },
};

export interface HostOptions extends ProfileTraits {
  /** Our STATE host id (already unique per pod). */
  hostId: string;
  rebirth: RebirthOptions;
  /** After an NBIRTH, how long previously known devices have to send their DBIRTH again. */
  deviceRebirthSettleMs: number;
  /** After a broker reconnect, how long a node may stay silent before it is declared offline. */
  staleTimeoutMs: number;
  /** A node known only from a certificate or retained birth gets a rebirth request after this long. */
  unprovenGraceMs: number;
  /** Which birth metric values the model keeps (scalars: what property mappings and selectors need). */
  birthValues: KeptValues;
}

/** The settings a caller may give beside the profile. */
export type HostSettings = Partial<Omit<HostOptions, "rebirth" | keyof ProfileTraits>> & {
  rebirth?: Partial<RebirthOptions>;
  /** False: a profile that publishes STATE (discovery) does not (its details may say so; replay). Never turns it on. */
  publishState?: boolean;
};

export const defaultRebirthOptions: RebirthOptions = {
  onUnknownNode: true,
  onSeqGap: true,
  onUnknownMetric: true,
  reorderTimeoutMs: 2000,
  minIntervalPerNodeMs: 30000,
  maxPerSecond: 10,
  jitterMs: 500,
};

/** Host options for a profile, with every default filled in. */
export function hostOptions(profile: HostProfile, settings: HostSettings = {}): HostOptions {
  const traits = PROFILES[profile];
  return {
    ...traits,
    publishState: traits.publishState && (settings.publishState ?? true),
    hostId: settings.hostId ?? "akri-mqtt",
    rebirth: { ...defaultRebirthOptions, ...settings.rebirth },
    deviceRebirthSettleMs: settings.deviceRebirthSettleMs ?? 5000,
    staleTimeoutMs: settings.staleTimeoutMs ?? 60000,
    unprovenGraceMs: settings.unprovenGraceMs ?? 10000,
    birthValues: settings.birthValues ?? (traits.trackValues ? "all" : "scalars"),
  };
}
