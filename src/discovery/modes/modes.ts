import type { DetailsOf } from "../mode.js";
import { type ModeSet, modeSet } from "../mode-set.js";
import { MODES } from "./registry.js";

/* The modes the commands run (registry.ts), and what depends on which exist. */

/** A Configuration's details, parsed: a union on `mode`, one member per mode. */
export type DiscoveryDetails = DetailsOf<(typeof MODES)[number]>;

export const modes: ModeSet<DiscoveryDetails> = modeSet(MODES);

export const { parse: parseDiscoveryDetails, discovererFor, engineFor, sharingFor } = modes;

/** Every mode's kind labels (`DiscoveredDevice.kind` → label): plain JSON, for tables and the fleet page. */
export const kindLabels: Readonly<Record<string, string>> = modes.kindLabels;

/** The properties discovery sets itself, in any mode. */
export const standardProperties: ReadonlySet<string> = modes.standardProperties;

/** The properties that hold a device's data topic, one per mode. */
export const dataTopicProperties: readonly string[] = modes.dataTopicProperties;

/** What the fleet page shows as the modes declare it (plain JSON: the Akri layer knows no mode). */
export const pageModes = { kindLabels, standardProperties: [...standardProperties] } as const;
