import { genericMode } from "../generic/mode.js";
import { sparkplugMode } from "../sparkplug/mode.js";

/**
 * Every discovery mode, the default first (discoveryDetails that names no mode, and has no
 * key that implies one, is Sparkplug). A new mode is a folder beside sparkplug/ and generic/
 * whose `mode.ts` declares it, and its entry here.
 */
export const MODES = [sparkplugMode, genericMode] as const;
