/* How the monitor reads its environment: each reader gives a value or an error naming the variable. */

/** A value read from the environment, or what is wrong with it (naming the variable). */
export type EnvRead<T> = { ok: true; value: T } | { ok: false; error: string };

/** A yes/no variable: 1, true, yes or on (any case) is yes; anything else, or unset, is no. */
export function flag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}
