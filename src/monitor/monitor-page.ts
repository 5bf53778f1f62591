import { pathToFileURL } from "node:url";
import { readPageFiles } from "../http/page-files.js";
import { packageFile } from "../paths.js";

/*
 * The monitor's page: three static files in monitor-page/ (no CDN) that take the device's
 * state from /events and keep it current: status, every metric's value and timestamp, and a
 * sparkline per numeric metric. Relative URLs, so it also works behind `kubectl
 * port-forward`, a Service or a path-prefixing proxy.
 */

/** The page's files by URL path (found by walking up: beside this module, or under dist/ when bundled). */
export const MONITOR_FILES = readPageFiles(
  pathToFileURL(packageFile("monitor/monitor-page/", import.meta.url)),
  {
    "/": "index.html",
    "/index.html": "index.html",
    "/monitor.js": "monitor.js",
    "/monitor.css": "monitor.css",
  },
);
