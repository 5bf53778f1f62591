import { readPageFiles } from "../http/page-files.js";

/*
 * The fleet page at / on the handler's HTTP port: every Discover stream (Configuration) as
 * its discovery sees it, listed entities and the ones it leaves out with why, and a live
 * feed of what happens. Three static files in fleet-page/ (no CDN), read-only, under a
 * Content-Security-Policy that allows only themselves; its script says how it reads the data.
 */

export const FLEET_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's files by URL path. */
export const FLEET_FILES = readPageFiles(new URL("./fleet-page/", import.meta.url), {
  "/": "index.html",
  "/fleet.js": "fleet.js",
  "/fleet.css": "fleet.css",
});
