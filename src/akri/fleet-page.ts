import { pathToFileURL } from "node:url";
import { type PageFile, readPageFiles } from "../http/page-files.js";
import { packageFile } from "../paths.js";

/*
 * The fleet page at / on the handler's HTTP port: every Discover stream (Configuration) as
 * its discovery sees it, listed entities and the ones it leaves out with why, and a live
 * feed of what happens, under an overview (counts, a plant map, a chart of births and deaths).
 * Static files in fleet-page/ (no CDN), read-only, under a
 * Content-Security-Policy that allows only themselves; its script says how it reads the data.
 */

export const FLEET_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's files by URL path (found by walking up: beside this module, or under dist/ when bundled). */
const FLEET_FILES = readPageFiles(pathToFileURL(packageFile("akri/fleet-page/", import.meta.url)), {
  "/": "index.html",
  "/fleet.js": "fleet.js",
  "/plant.js": "plant.js",
  "/overview.js": "overview.js",
  "/chart.js": "chart.js",
  "/fleet.css": "fleet.css",
});

/** What the page shows as each mode declares it (the Akri layer knows no mode: the CLI passes them). */
export interface PageModes {
  /** `kind` → the label people read. */
  kindLabels: Readonly<Record<string, string>>;
  /** The properties discovery sets itself (the page shows only the others, the mapped ones). */
  standardProperties: readonly string[];
}

const MODES_BLOCK = /<script type="application\/json" id="modes">[^<]*<\/script>/;

/** The page's files with `modes` written into its JSON data block (data, never run: the CSP holds). */
export function fleetFiles(modes: PageModes): ReadonlyMap<string, PageFile> {
  const index = FLEET_FILES.get("/")!;
  if (!MODES_BLOCK.test(index.body)) throw new Error("fleet-page/index.html has no modes data block");
  // JSON in HTML: "<" escaped, so no value can close the block.
  const json = JSON.stringify(modes).replaceAll("<", "\\u003c");
  const body = index.body.replace(
    MODES_BLOCK,
    () => `<script type="application/json" id="modes">${json}</script>`,
  );
  return new Map([...FLEET_FILES, ["/", { ...index, body }]]);
}
