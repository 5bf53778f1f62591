import { existsSync, readFileSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/*
 * A web page's files (HTML, CSS, JavaScript), kept as real files beside the module that
 * serves them (so that biome lints them); `npm run build` copies them beside the compiled
 * code. Read once, at start-up.
 */

/** One file as served. */
export interface PageFile {
  type: string;
  body: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/** Reads the files of a page: URL path → file name in `folder` (a URL, e.g. `new URL("./page/", import.meta.url)`). */
export function readPageFiles(folder: URL, files: Record<string, string>): ReadonlyMap<string, PageFile> {
  const out = new Map<string, PageFile>();
  for (const [path, name] of Object.entries(files)) {
    const file = new URL(name, folder);
    const type = TYPES[extname(name)];
    if (type === undefined) throw new Error(`${name}: not a page file (.html, .css or .js)`);
    if (!existsSync(file))
      throw new Error(`${fileURLToPath(file)} is missing: npm run build copies the pages beside the code`);
    out.set(path, { type, body: readFileSync(file, "utf8") });
  }
  return out;
}
