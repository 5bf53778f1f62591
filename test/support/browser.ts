import { existsSync } from "node:fs";

/*
 * Debian's Chromium for browser tests (playwright-core drives it; no browser download).
 * Under CI=true a missing browser fails the run (.ci/run installs it); elsewhere the
 * browser tests are skipped.
 */

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return CANDIDATES.find((p) => existsSync(p));
}

export function chromiumAvailable(): boolean {
  const found = chromiumPath() !== undefined;
  if (!found && process.env.CI === "true")
    throw new Error("CI=true but Chromium is missing: .ci/run must install it (apt-get install -y chromium)");
  return found;
}

/** Flags for a headless Chromium in a sandboxed, offline container. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
