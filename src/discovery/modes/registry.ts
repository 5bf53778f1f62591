import { genericMode } from "../generic/mode.js";
import { referenceMode } from "../reference/mode.js";
import { sparkplugMode } from "../sparkplug/mode.js";

/**
 * Every discovery mode, the default first (discoveryDetails that names no mode, and has no
 * key that implies one, is Sparkplug). A new mode is a folder beside sparkplug/ and generic/
 * whose `mode.ts` declares it, and its entry here. The reference handler's mode comes before
 * generic: its Configurations have `topics` too, and `mqttBrokerUri` is what tells them apart.
 */
export const MODES = [sparkplugMode, referenceMode, genericMode] as const;
