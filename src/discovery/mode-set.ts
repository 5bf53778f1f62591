import { BROKER_PROPERTY_NAMES } from "./broker-properties.js";
import { type DetailsResult, detailsParser } from "./details.js";
import type { Discoverer } from "./discoverer.js";
import { DiscoveryEngine } from "./engine.js";
import type { EmitterTiming } from "./list-emitter.js";
import type { DetailsOf, DiscoveryMode, ModeOptions } from "./mode.js";
import type { ModeSharing } from "./shared-reading.js";

/*
 * Everything that depends on which modes exist, made from the list of them: the parse of
 * discoveryDetails, a Discoverer (or engine) for a parsed details, and the names people see.
 * discovery/modes/ makes the one the commands use; a test can make one with a mode of its own.
 */

export interface ModeSet<D> {
  /** Parses a Configuration's discoveryDetails (YAML or JSON). */
  parse(text: string): DetailsResult<D>;
  /** The Discoverer of the details' mode. */
  discovererFor(details: D, options: ModeOptions): Discoverer;
  /** How discoveries of the details' mode share a reading, if they can. */
  sharingFor(details: D): ModeSharing<D, ModeOptions> | undefined;
  /** A discovery engine over the mode the details ask for. */
  engineFor(details: D, options: ModeOptions & { timing?: EmitterTiming | undefined }): DiscoveryEngine;
  /** Every mode's kind labels (`DiscoveredDevice.kind` → what a table shows): plain JSON, for the fleet page too. */
  readonly kindLabels: Readonly<Record<string, string>>;
  /** The properties discovery sets itself, in any mode: no property mapping may use them. */
  readonly standardProperties: ReadonlySet<string>;
  /** The property that holds a device's data topic, by mode (the first a device has is its own). */
  readonly dataTopicProperties: readonly string[];
}

/** The modes of `modes`, the first one the default when discoveryDetails names none. */
export function modeSet<const M extends readonly DiscoveryMode[]>(modes: M): ModeSet<DetailsOf<M[number]>> {
  type D = DetailsOf<M[number]>;
  const byName = new Map<string, DiscoveryMode>();
  for (const mode of modes) {
    if (byName.has(mode.name)) throw new Error(`two discovery modes are called ${mode.name}`);
    byName.set(mode.name, mode);
  }
  const standardProperties = new Set([
    ...BROKER_PROPERTY_NAMES,
    ...modes.flatMap((m) => m.properties.standard),
  ]);
  const modeOf = (details: D): DiscoveryMode => {
    const mode = byName.get(details.mode);
    if (mode === undefined) throw new Error(`no discovery mode ${details.mode}`);
    return mode;
  };
  const discovererFor = (details: D, options: ModeOptions): Discoverer =>
    modeOf(details).create(details, options);
  return {
    parse: detailsParser<D>(modes, standardProperties),
    discovererFor,
    // A mode's sharing takes its own details; the details' mode is that mode.
    sharingFor: (details) => modeOf(details).share as ModeSharing<D, ModeOptions> | undefined,
    engineFor: (details, { timing, ...options }) =>
      new DiscoveryEngine(discovererFor(details, options), {
        maxPayloadBytes: details.maxPayloadBytes,
        ...(timing ? { timing } : {}),
      }),
    kindLabels: Object.assign({}, ...modes.map((m) => m.kindLabels)),
    standardProperties,
    dataTopicProperties: modes.map((m) => m.properties.dataTopic),
  };
}
