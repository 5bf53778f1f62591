import { UsageError } from "./usage-error.js";

/** Resolves on Ctrl-C / SIGTERM, or after `seconds` when given. */
export function untilStopped(seconds?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(stop, seconds * 1000);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

/** Reads a `--duration <seconds>` flag. */
export function durationSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new UsageError(`--duration must be a positive number of seconds, got "${value}"`);
  return seconds;
}
