/*
 * The monitor page's script (served as /monitor.js, a module: strict, and run once the page
 * is parsed). It takes the device's state from events (Server-Sent Events) and keeps it
 * current: status, every metric's value and timestamp, a sparkline per numeric metric.
 */
const rows = new Map();
let state = null;
const $ = (id) => document.getElementById(id);
const fmtTime = (t) => (t == null ? "" : new Date(t).toLocaleTimeString());
const fmtValue = (v) =>
  v === null || v === undefined ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v);

function sparkline(svg, points) {
  const line = svg.querySelector("polyline");
  if (!points || points.length < 2) {
    line.setAttribute("points", "");
    return;
  }
  const recent = points.slice(-80);
  const xs = recent.map((p) => p[0]);
  const ys = recent.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * 158 + 1);
  const sy = (y) => (y1 === y0 ? 16 : 31 - ((y - y0) / (y1 - y0)) * 30);
  line.setAttribute("points", recent.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "));
}

function cell(className, text) {
  const td = document.createElement("td");
  td.className = className;
  if (text !== undefined) td.textContent = text;
  return td;
}

function row(metric) {
  const tr = document.createElement("tr");
  tr.dataset.metric = metric.name;
  const name = cell("name", metric.name);
  const value = cell("value");
  value.dataset.metric = metric.name;
  const type = cell("datatype", metric.datatype);
  const when = cell("when");
  const spark = document.createElement("td");
  spark.innerHTML =
    '<svg class="spark" viewBox="0 0 160 32" preserveAspectRatio="none"><polyline points=""/></svg>';
  tr.append(name, value, type, when, spark);
  const entry = { tr, value, when, svg: spark.firstChild, history: metric.history || [] };
  rows.set(metric.name, entry);
  return entry;
}

function showValue(entry, value, timestamp, flash) {
  entry.value.textContent = fmtValue(value);
  entry.when.textContent = fmtTime(timestamp);
  if (flash) {
    entry.value.classList.remove("changed");
    void entry.value.offsetWidth; // a reflow, so that the animation starts again
    entry.value.classList.add("changed");
  }
}

function showStatus(status, stale, connected) {
  const badge = $("status");
  const label = !connected
    ? status + " (broker disconnected)"
    : stale && status === "online"
      ? "online (stale)"
      : status;
  badge.textContent = label;
  badge.className = "badge " + (stale && status === "online" ? "stale" : status);
  const on =
    state?.broker.on && state.broker.on !== state.broker.url ? "; the device is on " + state.broker.on : "";
  $("broker").textContent =
    (connected ? "connected to " : "not connected to ") +
    (state?.broker.url ? state.broker.url : "the broker") +
    on;
  for (const entry of rows.values()) entry.tr.classList.toggle("stale", status !== "online" || stale);
}

function render(snapshot) {
  state = snapshot;
  document.title = snapshot.id + " · akri-mqtt monitor";
  $("device").textContent = snapshot.id;
  $("birth").textContent = snapshot.birthAt
    ? "born " +
      new Date(snapshot.birthAt).toLocaleString() +
      (snapshot.birthSource && snapshot.birthSource !== "live" ? " (" + snapshot.birthSource + ")" : "")
    : "";
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
    if (change.point) {
      entry.history.push(change.point);
      if (entry.history.length > 240) entry.history.shift();
      sparkline(entry.svg, entry.history);
    }
    if (state) {
      state.messages++;
      $("messages").textContent = state.messages + " messages";
      $("last").textContent = "last " + fmtTime(change.timestamp);
    }
  });
  events.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    if (state) {
      state.status = s.status;
      state.stale = s.stale;
      state.broker.connected = s.connected;
    }
    showStatus(s.status, s.stale, s.connected);
  });
  events.onerror = () => {
    $("status").textContent = "reconnecting…";
    $("status").className = "badge";
  };
}
connect();
