import type { z } from "zod";
import type { HostOptions } from "../sparkplug/host/options.js";
import type { ModeDetails, ModeDetailsParser } from "./details.js";
import type { Discoverer } from "./discoverer.js";
import type { ModeSharing } from "./shared-reading.js";

/*
 * A discovery mode, as discovery/modes/ registers it: its part of discoveryDetails, the
 * Discoverer it runs, and what it tells people about the devices it lists. Each mode
 * declares one in its folder (sparkplug/mode.ts, generic/mode.ts); nothing outside that
 * folder and the one list in modes/ names a mode.
 */

/** What every command gives the mode it runs (beyond its details). */
export interface ModeOptions {
  /**
   * Who this process is among those discovering the same Configuration. A mode that names
   * its host on the brokers appends it: Sparkplug's STATE host id is `<sparkplug.hostId>-<suffix>`.
   */
  suffix: string;
  /** Publish the host's STATE (default: as the details say). */
  publishState?: boolean;
  random?: () => number;
  /** Host model timings that discoveryDetails does not expose (tests shorten them). */
  host?: Partial<Pick<HostOptions, "deviceRebirthSettleMs" | "staleTimeoutMs" | "unprovenGraceMs">>;
}

export interface DiscoveryMode<
  Name extends string = string,
  Shape extends z.ZodRawShape = z.ZodRawShape,
  Own extends object = object,
> {
  /** What discoveryDetails' `mode` calls it. */
  readonly name: Name;
  /** Its keys of discoveryDetails and how they become its details. */
  readonly details: ModeDetailsParser<Shape, Own>;
  /** Its Discoverer for a Configuration's details. */
  create(details: ModeDetails<Name, Own>, options: ModeOptions): Discoverer;
  /** How discoveries of this mode share one reading of their brokers' traffic, if they can. */
  readonly share?: ModeSharing<ModeDetails<Name, Own>, ModeOptions>;
  /** What tables and the fleet page call each kind of device it lists (`DiscoveredDevice.kind` → label). */
  readonly kindLabels: Readonly<Record<string, string>>;
  /** The properties it sets on each device itself (besides the brokers'), and which of them is its data topic. */
  readonly properties: { readonly standard: readonly string[]; readonly dataTopic: string };
}

/** The details a mode (or a union of modes) parses to. */
export type DetailsOf<M> =
  M extends DiscoveryMode<infer Name, infer _Shape, infer Own> ? ModeDetails<Name, Own> : never;

/** A mode, its types inferred from what it declares (its name, its details' keys and own details). */
export function defineMode<const Name extends string, Shape extends z.ZodRawShape, Own extends object>(
  mode: DiscoveryMode<Name, Shape, Own>,
): DiscoveryMode<Name, Shape, Own> {
  return mode;
}
