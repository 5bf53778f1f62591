import type { EnvRead } from "./env-values.js";

/*
 * Which Akri instance this pod monitors, and its properties. Akri gives a broker pod each
 * device property both as KEY and as KEY_<HASH> (the instance's 6-hex hash, upper-case); a
 * pod given several instances has several suffixes, and MONITOR_INSTANCE chooses one.
 */

const HASH = /^[0-9A-F]{6}$/;

/** A device property of the monitored instance (undefined when unset or empty). */
export type PropertyReader = (key: string) => string | undefined;

export interface InstanceProperties {
  /** The instance hash whose properties are read, when they came suffixed. */
  hash: string | undefined;
  property: PropertyReader;
}

/** The instance hashes present in the environment (from the suffixed MQTT_BROKER_URI_<HASH>). */
function instanceHashes(env: NodeJS.ProcessEnv): string[] {
  const hashes = new Set<string>();
  for (const key of Object.keys(env)) {
    const match = /^MQTT_BROKER_URI_([0-9A-F]{6})$/.exec(key);
    if (match) hashes.add(match[1]!);
  }
  return [...hashes].sort();
}

/** The instance this pod monitors: MONITOR_INSTANCE's, else the only one there is. */
function chosenInstance(env: NodeJS.ProcessEnv): EnvRead<string | undefined> {
  const hashes = instanceHashes(env);
  const chosen = env.MONITOR_INSTANCE?.trim().toUpperCase();
  if (chosen) {
    if (!HASH.test(chosen))
      return { ok: false, error: `MONITOR_INSTANCE: expected the 6-hex instance hash, got "${chosen}"` };
    if (!hashes.includes(chosen))
      return {
        ok: false,
        error: `MONITOR_INSTANCE: no properties for instance ${chosen} (found: ${hashes.join(", ") || "none"})`,
      };
    return { ok: true, value: chosen };
  }
  if (hashes.length > 1)
    return {
      ok: false,
      error: `this pod was given several Akri instances (${hashes.join(", ")}): set MONITOR_INSTANCE to the one to monitor`,
    };
  return { ok: true, value: hashes[0] };
}

/** The monitored instance and a reader of its properties. */
export function instanceProperties(env: NodeJS.ProcessEnv): EnvRead<InstanceProperties> {
  const hash = chosenInstance(env);
  if (!hash.ok) return hash;
  // The suffixed form is the instance's own; the plain one can be overwritten by another
  // instance, so once the instance is known only its own (suffixed) properties count.
  const property = (key: string): string | undefined => {
    const value = hash.value !== undefined ? env[`${key}_${hash.value}`] : env[key];
    return value === undefined || value === "" ? undefined : value;
  };
  return { ok: true, value: { hash: hash.value, property } };
}
