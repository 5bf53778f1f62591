/*
 * The fleet page's script (served as /fleet.js, a module: strict, and run once the page is
 * parsed). It takes its data from devices?all=true (polled; redrawn only when it changed, one
 * page of rows at a time) and events (Server-Sent Events), with relative URLs so that it works
 * behind a port-forward or a path-prefixing proxy. Every text from the plant goes in as text,
 * never as HTML.
 */
const PAGE = 100;
const state = { streams: [], stream: null, page: 0, text: "" };
const $ = (id) => document.getElementById(id);

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

/**
 * What the handler's modes declare (kind labels, the properties discovery sets itself),
 * written into the page by the server as a JSON data block: one list, in the modes.
 */
const MODES = JSON.parse($("modes").textContent);
const STANDARD = new Set(MODES.standardProperties);
const kindLabel = (kind) => (Object.hasOwn(MODES.kindLabels, kind) ? MODES.kindLabels[kind] : kind);

/** The /devices facts' names (README: "facts") as people read them; a name not here is shown as it is. */
const FACT_LABELS = {
  bornAt: "born",
  nodeBornAt: "node born",
  bdSeq: "bdSeq",
  nodeDiedAt: "node died",
  seqGaps: "seq gaps",
  rebirthRequests: "rebirth requests",
  lastRebirthRequestAt: "last rebirth request",
  lastMessageAt: "last message",
  broker: "broker",
};
/** Facts (birth, bdSeq, seq gaps, rebirth requests…) and mapped properties, as "label: value" lines. */
function details(facts, properties) {
  const lines = Object.entries(facts || {}).map(
    ([k, v]) => (Object.hasOwn(FACT_LABELS, k) ? FACT_LABELS[k] : k) + ": " + v,
  );
  for (const [k, v] of Object.entries(properties || {})) if (!STANDARD.has(k)) lines.push(k + "=" + v);
  return lines;
}

function entities(stream) {
  const listed = stream.devices.map((d) => ({
    id: d.id,
    kind: d.kind,
    status: d.status,
    listed: true,
    instance: d.instanceName,
    broker: d.broker || "",
    details: details(d.facts, d.properties),
  }));
  const unlisted = (stream.unlisted || []).map((u) => ({
    id: u.id,
    kind: u.kind,
    status: u.status,
    listed: false,
    reason: u.reason,
    instance: "",
    broker: "",
    details: details(u.facts),
  }));
  return listed.concat(unlisted).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function matches(entity, query, show) {
  if (show === "listed" && !entity.listed) return false;
  if (show === "unlisted" && entity.listed) return false;
  if (!query) return true;
  const text = [
    entity.id,
    entity.kind,
    kindLabel(entity.kind),
    entity.status,
    entity.listed ? "listed" : "not listed",
    entity.reason ? entity.reason.code + " " + entity.reason.message : "",
    entity.instance,
    entity.broker,
    entity.details.join(" "),
  ]
    .join(" ")
    .toLowerCase();
  return text.includes(query);
}

function render() {
  const stream = state.streams.find((s) => String(s.stream) === state.stream) || state.streams[0];
  const body = $("rows");
  const rows = [];
  if (!stream) {
    $("summary").textContent =
      "no Discover stream yet: nothing has asked this handler to discover (apply a Configuration)";
    body.replaceChildren();
    $("range").textContent = "";
    return;
  }
  const all = entities(stream);
  const query = $("search").value.trim().toLowerCase();
  const shown = all.filter((e) => matches(e, query, $("show").value));
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  const first = state.page * PAGE;
  for (const entity of shown.slice(first, first + PAGE)) {
    const row = document.createElement("tr");
    row.dataset.id = entity.id;
    cell(row, entity.id, "id level-" + Math.max(1, entity.id.split("/").length - 2));
    cell(row, kindLabel(entity.kind)).title = entity.kind;
    cell(row, entity.status, "status " + entity.status);
    const listed = cell(row, entity.listed ? "yes" : "");
    if (!entity.listed) {
      const no = document.createElement("span");
      no.className = "no";
      no.textContent = "no: " + entity.reason.code;
      const why = document.createElement("span");
      why.className = "reason";
      why.textContent = entity.reason.message;
      listed.append(no, why);
    }
    cell(row, entity.instance);
    cell(row, entity.broker);
    const facts = cell(row, "", "details");
    for (const line of entity.details) {
      const span = document.createElement("span");
      span.textContent = line;
      facts.appendChild(span);
    }
    rows.push(row);
  }
  body.replaceChildren(...rows);
  const listedCount = all.filter((e) => e.listed).length;
  const brokers = stream.brokers
    .map((b) => b.uri + (b.connected ? " (connected)" : " (not connected)"))
    .join(", ");
  $("summary").textContent =
    listedCount +
    " listed, " +
    (all.length - listedCount) +
    " seen but not listed · " +
    stream.mode +
    " · " +
    brokers +
    (stream.lastListAt ? " · last list " + stream.lastListAt : "");
  $("range").textContent =
    shown.length === 0
      ? "nothing matches"
      : "showing " + (first + 1) + "–" + Math.min(first + PAGE, shown.length) + " of " + shown.length;
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
}

function renderStreams() {
  const select = $("stream");
  const options = state.streams.map((s) => {
    const option = document.createElement("option");
    option.value = String(s.stream);
    option.textContent = "stream " + s.stream + " (" + s.mode + ", " + s.devices.length + " listed)";
    return option;
  });
  select.replaceChildren(...options);
  if (state.stream === null && state.streams.length > 0) state.stream = String(state.streams[0].stream);
  select.value = state.stream || "";
}

// Polled every 2 s, less often when the inventory is large (10 times what a poll took).
async function refresh() {
  const started = performance.now();
  try {
    const response = await fetch("devices?all=true", { cache: "no-store" });
    const text = await response.text();
    if (text !== state.text) {
      state.text = text;
      state.streams = JSON.parse(text);
      renderStreams();
      render();
    }
  } catch (e) {
    $("summary").textContent = "cannot reach the handler: " + e.message;
  }
  setTimeout(refresh, Math.max(2000, 10 * (performance.now() - started)));
}

function feed() {
  const list = $("feed");
  const source = new EventSource("events");
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const item = document.createElement("li");
    if (event.problem || event.severity === "warn") item.className = "problem";
    const time = document.createElement("time");
    time.dateTime = event.at;
    time.textContent = event.at.slice(11, 19);
    item.append(
      time,
      document.createTextNode(event.kind + (event.subject ? " " + event.subject : "") + ": " + event.message),
    );
    list.prepend(item);
    while (list.children.length > 200) list.lastElementChild.remove();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("input", () => {
    state.page = 0;
    render();
  });
  $("show").addEventListener("change", () => {
    state.page = 0;
    render();
  });
  $("stream").addEventListener("change", (e) => {
    state.stream = e.target.value;
    state.page = 0;
    render();
  });
  $("prev").addEventListener("click", () => {
    state.page--;
    render();
  });
  $("next").addEventListener("click", () => {
    state.page++;
    render();
  });
  refresh();
  feed();
});
