import { readPageFiles } from "../http/page-files.js";

/*
 * The monitor's page: three static files in monitor-page/ (no CDN) that take the device's
 * state from /events and keep it current: status, every metric's value and timestamp, and a
 * sparkline per numeric metric. Relative URLs, so it also works behind `kubectl
 * port-forward`, a Service or a path-prefixing proxy.
 */

/** The page's files by URL path. */
export const MONITOR_FILES = readPageFiles(new URL("./monitor-page/", import.meta.url), {
  "/": "index.html",
  "/index.html": "index.html",
  "/monitor.js": "monitor.js",
  "/monitor.css": "monitor.css",
});
