import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root directory (where package.json is), found from a module. */
export function packageRoot(from: string): string {
  return dirname(packageFile("package.json", from));
}

/**
 * A file of the package (e.g. "proto/sparkplug_b.proto"), found by walking up from the
 * calling module: the same code runs from src/ (tests), dist/ (the package) and compiled
 * benchmarks, at different depths.
 */
export function packageFile(relative: string, from: string): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${relative} not found above ${fileURLToPath(from)}`);
    dir = parent;
  }
}
