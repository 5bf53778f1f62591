/*
 * The monitor's page: one self-contained HTML document (no CDN, no build step) that takes
 * the device's state from /events and keeps it current: status, every metric's value and
 * timestamp, and a sparkline per numeric metric. Relative URLs, so it also works behind
 * `kubectl port-forward`, a Service or a path-prefixing proxy.
 */
export const MONITOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>akri-mqtt monitor</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; --line: #0969da; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 1.5rem; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; margin-bottom: 1rem; }
  h1 { font-size: 1.25rem; margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  .badge { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; color: #fff; font-weight: 600; background: var(--muted); }
  .badge.online { background: var(--ok); } .badge.offline { background: var(--bad); } .badge.stale { background: var(--warn); }
  .facts { color: var(--muted); display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid color-mix(in srgb, currentColor 15%, transparent); vertical-align: middle; }
  th { font-weight: 600; color: var(--muted); }
  td.value { font-family: ui-monospace, monospace; max-width: 28rem; overflow-wrap: anywhere; }
  td.value.changed { animation: flash 1s ease-out; }
  @keyframes flash { from { background: color-mix(in srgb, var(--line) 25%, transparent); } to { background: transparent; } }
  tr.stale td.value { color: var(--muted); font-style: italic; }
  td.when { color: var(--muted); white-space: nowrap; }
  svg.spark { width: 160px; height: 32px; display: block; }
  svg.spark polyline { fill: none; stroke: var(--line); stroke-width: 1.5; }
  #empty { color: var(--muted); }
  footer { margin-top: 1rem; color: var(--muted); font-size: .85rem; }
</style>
</head>
<body>
<header>
  <h1 id="device">…</h1>
  <span id="status" class="badge">connecting</span>
  <div class="facts"><span id="broker"></span><span id="birth"></span><span id="messages"></span><span id="last"></span></div>
</header>
<table>
  <thead><tr><th>metric</th><th>value</th><th>datatype</th><th>updated</th><th>recent</th></tr></thead>
  <tbody id="metrics"></tbody>
</table>
<p id="empty">Waiting for the device's birth…</p>
<footer>akri-mqtt monitor · <a href="state">state</a> · <a href="metrics">metrics</a> · <a href="events">events</a></footer>
<script>
"use strict";
const rows = new Map();
let state = null;
const $ = (id) => document.getElementById(id);
const fmtTime = (t) => (t == null ? "" : new Date(t).toLocaleTimeString());
const fmtValue = (v) => (v === null || v === undefined ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v));

function sparkline(svg, points) {
  const line = svg.querySelector("polyline");
  if (!points || points.length < 2) { line.setAttribute("points", ""); return; }
  const recent = points.slice(-80);
  const xs = recent.map((p) => p[0]), ys = recent.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * 158 + 1);
  const sy = (y) => (y1 === y0 ? 16 : 31 - ((y - y0) / (y1 - y0)) * 30);
  line.setAttribute("points", recent.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "));
}

function row(metric) {
  const tr = document.createElement("tr");
  tr.dataset.metric = metric.name;
  const name = document.createElement("td"); name.className = "name"; name.textContent = metric.name;
  const value = document.createElement("td"); value.className = "value"; value.dataset.metric = metric.name;
  const type = document.createElement("td"); type.className = "datatype"; type.textContent = metric.datatype;
  const when = document.createElement("td"); when.className = "when";
  const spark = document.createElement("td");
  spark.innerHTML = '<svg class="spark" viewBox="0 0 160 32" preserveAspectRatio="none"><polyline points=""/></svg>';
  tr.append(name, value, type, when, spark);
  const entry = { tr, value, when, svg: spark.firstChild, history: metric.history || [] };
  rows.set(metric.name, entry);
  return entry;
}

function showValue(entry, value, timestamp, flash) {
  entry.value.textContent = fmtValue(value);
  entry.when.textContent = fmtTime(timestamp);
  if (flash) { entry.value.classList.remove("changed"); void entry.value.offsetWidth; entry.value.classList.add("changed"); }
}

function showStatus(status, stale, connected) {
  const badge = $("status");
  const label = !connected ? status + " (broker disconnected)" : stale && status === "online" ? "online (stale)" : status;
  badge.textContent = label;
  badge.className = "badge " + (stale && status === "online" ? "stale" : status);
  const on = state && state.broker.on && state.broker.on !== state.broker.url ? "; the device is on " + state.broker.on : "";
  $("broker").textContent = (connected ? "connected to " : "not connected to ") + (state && state.broker.url ? state.broker.url : "the broker") + on;
  for (const entry of rows.values()) entry.tr.classList.toggle("stale", status !== "online" || stale);
}

function render(snapshot) {
  state = snapshot;
  document.title = snapshot.id + " · akri-mqtt monitor";
  $("device").textContent = snapshot.id;
  $("birth").textContent = snapshot.birthAt ? "born " + new Date(snapshot.birthAt).toLocaleString() + (snapshot.birthSource && snapshot.birthSource !== "live" ? " (" + snapshot.birthSource + ")" : "") : "";
  $("messages").textContent = snapshot.messages + " messages";
  $("last").textContent = snapshot.lastMessageAt ? "last " + fmtTime(snapshot.lastMessageAt) : "";
  const body = $("metrics");
  body.textContent = "";
  rows.clear();
  for (const metric of snapshot.metrics) {
    const entry = row(metric);
    body.append(entry.tr);
    showValue(entry, metric.value, metric.timestamp, false);
    sparkline(entry.svg, entry.history);
  }
  $("empty").hidden = snapshot.metrics.length > 0;
  showStatus(snapshot.status, snapshot.stale, snapshot.broker.connected);
}

function connect() {
  const events = new EventSource("events");
  events.addEventListener("state", (e) => render(JSON.parse(e.data)));
  events.addEventListener("metric", (e) => {
    const change = JSON.parse(e.data);
    const entry = rows.get(change.name);
    if (!entry) return;
    showValue(entry, change.value, change.timestamp, true);
    if (change.point) { entry.history.push(change.point); if (entry.history.length > 240) entry.history.shift(); sparkline(entry.svg, entry.history); }
    if (state) { state.messages++; $("messages").textContent = state.messages + " messages"; $("last").textContent = "last " + fmtTime(change.timestamp); }
  });
  events.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    if (state) { state.status = s.status; state.stale = s.stale; state.broker.connected = s.connected; }
    showStatus(s.status, s.stale, s.connected);
  });
  events.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "badge"; };
}
connect();
</script>
</body>
</html>
`;
