/*
 * The fleet page's script (served as /fleet.js, a module: strict, and run once the page is
 * parsed). It takes its data from devices?all=true (polled; redrawn only when it changed, one
 * page of rows at a time), activity (the chart's counts, polled with it) and events
 * (Server-Sent Events), with relative URLs so that it works behind a port-forward or a
 * path-prefixing proxy. Every text from the plant goes in as text, never as HTML.
 */
import { renderChart } from "./chart.js";
import { Overview } from "./overview.js";
import { entitiesOf, selects } from "./plant.js";

const PAGE = 100;
const state = {
  streams: [],
  stream: null,
  page: 0,
  text: "",
  activity: [],
  activityText: "",
  /** The group or edge node the table is narrowed to (a count's or a tile's click). */
  scope: {},
  /** Ids whose details are open. */
  open: new Set(),
};
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

/** What the search box searches in a row: everything it shows, folded open or not (made once, when first searched). */
function searchText(entity) {
  if (entity.text === undefined) entity.text = searchable(entity);
  return entity.text;
}

function searchable(entity) {
  return [
    entity.id,
    entity.kind,
    kindLabel(entity.kind),
    entity.status,
    entity.listed ? "listed" : "not listed",
    entity.reason ? entity.reason.code + " " + entity.reason.message : "",
    entity.instance,
    entity.broker,
    details(entity.facts, entity.properties).join(" "),
  ]
    .join(" ")
    .toLowerCase();
}

/** One line per entity: its id (with a button that folds its details open), kind, status, listed or why not. */
function entityRows(entity) {
  const row = document.createElement("tr");
  row.dataset.id = entity.id;
  const open = state.open.has(entity.id);
  const id = cell(row, "", "id level-" + Math.max(1, entity.id.split("/").length - 2));
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "expand";
  toggle.setAttribute("aria-expanded", String(open));
  toggle.setAttribute("aria-label", "details of " + entity.id);
  toggle.addEventListener("click", () => {
    if (state.open.has(entity.id)) state.open.delete(entity.id);
    else state.open.add(entity.id);
    renderTable();
  });
  const name = document.createElement("span");
  name.textContent = entity.id;
  id.append(toggle, name);
  cell(row, kindLabel(entity.kind)).title = entity.kind;
  cell(row, entity.status, "status " + entity.status);
  const listed = cell(row, entity.listed ? "yes" : "", "listed");
  if (!entity.listed) {
    const no = document.createElement("span");
    no.className = "no";
    no.textContent = "no: " + entity.reason.code;
    listed.title = entity.reason.message;
    listed.appendChild(no);
  }
  cell(row, entity.instance, "instance");
  cell(row, entity.broker, "broker");
  if (!open) return [row];
  const more = document.createElement("tr");
  more.className = "more";
  more.dataset.for = entity.id;
  const td = cell(more, "", "details");
  td.colSpan = 6;
  const facts = details(entity.facts, entity.properties);
  const lines = entity.listed ? facts : ["why not listed: " + entity.reason.message, ...facts];
  for (const line of lines) {
    const span = document.createElement("span");
    span.textContent = line;
    td.appendChild(span);
  }
  return [row, more];
}

const overview = new Overview((pick) => {
  ensureShowOption(pick.show);
  $("show").value = pick.show;
  $("search").value = "";
  state.scope = pick.scope;
  state.page = 0;
  renderTable();
  $("entities-title").scrollIntoView({ block: "start" });
});

/** Each reason seen gets an option of "Show" (a reason's count sets it). */
function ensureShowOption(show) {
  if (!show.startsWith("reason:") || [...$("show").options].some((o) => o.value === show)) return;
  const option = document.createElement("option");
  option.value = show;
  option.textContent = "not listed: " + show.slice(7).replaceAll("-", " ");
  $("show").appendChild(option);
}

let current = { stream: undefined, entities: [] };

function currentStream() {
  return state.streams.find((s) => String(s.stream) === state.stream) || state.streams[0];
}

/** The data changed: the overview and the table. */
function render() {
  const stream = currentStream();
  if (!stream) {
    $("summary").textContent =
      "no Discover stream yet: nothing has asked this handler to discover (apply a Configuration)";
    current = { stream: undefined, entities: [] };
    overview.render([]);
    renderTable();
    return;
  }
  const entities = entitiesOf(stream);
  current = { stream, entities };
  const { total } = overview.render(entities);
  for (const code of Object.keys(total.reasons)) ensureShowOption("reason:" + code);
  renderActivity();
  renderTable();
  const brokers = stream.brokers
    .map((b) => b.uri + (b.connected ? " (connected)" : " (not connected)"))
    .join(", ");
  $("summary").textContent =
    total.listed +
    " listed, " +
    total.unlisted +
    " seen but not listed · " +
    stream.mode +
    " · " +
    brokers +
    (stream.lastListAt ? " · last list " + stream.lastListAt : "");
}

function renderActivity() {
  const stream = currentStream();
  renderChart(stream && state.activity.find((a) => a.stream === stream.stream));
}

/** The filter or the page changed (or the data): the table's rows. */
function renderTable() {
  const { entities } = current;
  const query = $("search").value.trim().toLowerCase();
  const show = $("show").value;
  const shown = entities.filter((e) => selects(e, show, state.scope, query, searchText));
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  const first = state.page * PAGE;
  $("rows").replaceChildren(...shown.slice(first, first + PAGE).flatMap(entityRows));
  overview.select(state.scope.node);
  const scope = state.scope.node || state.scope.group;
  $("scope").hidden = !scope;
  $("scope-text").textContent = state.scope.node
    ? "edge node " + state.scope.node
    : state.scope.group
      ? "group " + state.scope.group
      : "";
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

/** The chart's counts; redrawn when they moved. */
async function refreshActivity() {
  const text = await (await fetch("activity", { cache: "no-store" })).text();
  if (text === state.activityText) return;
  state.activityText = text;
  state.activity = JSON.parse(text);
  renderActivity();
}

// Polled every 2 s, less often when the inventory is large (10 times what a poll took).
async function refresh() {
  const started = performance.now();
  try {
    const activity = refreshActivity();
    const response = await fetch("devices?all=true", { cache: "no-store" });
    const text = await response.text();
    if (text !== state.text) {
      state.text = text;
      state.streams = JSON.parse(text);
      renderStreams();
      render();
    }
    await activity;
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
    renderTable();
  });
  $("show").addEventListener("change", () => {
    state.page = 0;
    renderTable();
  });
  $("scope-clear").addEventListener("click", () => {
    state.scope = {};
    state.page = 0;
    renderTable();
  });
  $("stream").addEventListener("change", (e) => {
    state.stream = e.target.value;
    state.page = 0;
    render();
  });
  $("prev").addEventListener("click", () => {
    state.page--;
    renderTable();
  });
  $("next").addEventListener("click", () => {
    state.page++;
    renderTable();
  });
  refresh();
  feed();
});
