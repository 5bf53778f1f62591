/*
 * The fleet overview above the table: counts by status per group and in total, and the plant
 * map (each group's edge nodes as tiles coloured by status). Built as DOM, never as HTML, and
 * redrawn by what changed: a count's button or a tile is touched only when its text or status
 * moved, so a 1,000-node map costs a comparison per tile on a poll where one node died.
 */
import { overviewOf } from "./plant.js";

const STATUS_LABELS = {
  online: "online",
  stale: "stale",
  offline: "offline",
  "awaiting-birth": "awaiting birth",
};

/** A number as a button that sets the table's filter (`show`, within `group` when given). */
function countButton(n, show, group, label, onPick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "count";
  button.dataset.show = show;
  button.textContent = String(n);
  button.title = "show " + label + (group === null ? "" : " in " + group) + " in the table";
  button.addEventListener("click", () => onPick({ show, scope: group === null ? {} : { group } }));
  return button;
}

const COLUMNS = [
  ["entities", "all", "entities"],
  ["online", "online", "listed online"],
  ["stale", "stale", "listed stale"],
  ["offline", "offline", "listed offline"],
  ["unlisted", "unlisted", "not listed"],
];

/** One row of the counts table: a group's (or, for `group` null, the whole plant's). */
function countsRow(label, counts, group, onPick) {
  const row = document.createElement("tr");
  row.dataset.group = group === null ? "" : group;
  if (group === null) row.className = "total";
  const name = document.createElement("th");
  name.scope = "row";
  name.textContent = label;
  row.appendChild(name);
  for (const [key, show, words] of COLUMNS) {
    const td = document.createElement("td");
    const n = counts[key] || 0;
    td.appendChild(countButton(n, show, group, words, onPick));
    if (n === 0) td.className = "zero";
    else if (key !== "entities") td.className = "status " + key;
    row.appendChild(td);
  }
  const awaiting = document.createElement("td");
  awaiting.appendChild(
    countButton(
      counts.reasons["awaiting-birth"] || 0,
      "reason:awaiting-birth",
      group,
      "awaiting birth",
      onPick,
    ),
  );
  if (!counts.reasons["awaiting-birth"]) awaiting.className = "zero";
  row.appendChild(awaiting);
  const reasons = document.createElement("td");
  reasons.className = "reasons";
  for (const [code, n] of Object.entries(counts.reasons).sort()) {
    if (code === "awaiting-birth") continue;
    const chip = countButton(n, "reason:" + code, group, "not listed for " + code, onPick);
    chip.textContent = code + " " + n;
    chip.dataset.reason = code;
    reasons.appendChild(chip);
  }
  row.appendChild(reasons);
  return row;
}

export class Overview {
  /** `onPick({show, scope})`: a count or tile was clicked. */
  constructor(onPick) {
    this.onPick = onPick;
    this.countsKey = "";
    this.tiles = new Map();
    this.groups = new Map();
    this.selected = null;
    // The map is one stop of the Tab key (a thousand tiles would be a thousand): the arrow
    // keys move between its tiles, Enter or Space clicks one.
    document.getElementById("map").addEventListener("keydown", (e) => this.moveFocus(e));
  }

  moveFocus(e) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -Infinity, End: Infinity }[
      e.key
    ];
    if (step === undefined || !e.target.classList.contains("tile")) return;
    e.preventDefault();
    const all = [...document.querySelectorAll("#map button.tile")];
    const at = all.indexOf(e.target);
    const next =
      all[
        Math.max(
          0,
          Math.min(all.length - 1, Number.isFinite(step) ? at + step : step < 0 ? 0 : all.length - 1),
        )
      ];
    this.focusable(next);
    next.focus();
  }

  /** The tile the Tab key stops at in the map (the others are reached with the arrow keys). */
  focusable(element) {
    if (this.tabStop === element) return;
    if (this.tabStop) this.tabStop.tabIndex = -1;
    this.tabStop = element;
    if (element) element.tabIndex = 0;
  }

  render(entities) {
    const { total, groups, nodes } = overviewOf(entities);
    this.renderCounts(total, groups);
    this.renderMap(nodes);
    return { total, groups, nodes };
  }

  renderCounts(total, groups) {
    const names = [...groups.keys()].sort();
    const key = JSON.stringify([total, names.map((g) => groups.get(g))]);
    if (key === this.countsKey) return;
    this.countsKey = key;
    const rows = names.map((g) => countsRow(g, groups.get(g), g, this.onPick));
    rows.push(countsRow("all groups", total, null, this.onPick));
    document.getElementById("count-rows").replaceChildren(...rows);
  }

  renderMap(nodes) {
    const map = document.getElementById("map");
    const byGroup = new Map();
    for (const node of nodes.values()) {
      const list = byGroup.get(node.group);
      if (list) list.push(node);
      else byGroup.set(node.group, [node]);
    }
    const seen = new Set();
    const sections = [];
    for (const name of [...byGroup.keys()].sort()) {
      const group = this.groupSection(name);
      const members = byGroup.get(name).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      let added = false;
      const statuses = {};
      for (const node of members) {
        seen.add(node.key);
        statuses[node.status] = (statuses[node.status] || 0) + 1;
        let tile = this.tiles.get(node.key);
        if (!tile) {
          tile = this.newTile(node);
          this.tiles.set(node.key, tile);
          added = true;
        }
        this.updateTile(tile, node);
      }
      if (added || group.tiles.children.length !== members.length)
        group.tiles.replaceChildren(...members.map((n) => this.tiles.get(n.key).element));
      const heading =
        name +
        " · " +
        members.length +
        (members.length === 1 ? " edge node: " : " edge nodes: ") +
        Object.entries(statuses)
          .map(([status, n]) => n + " " + (STATUS_LABELS[status] || status))
          .join(", ");
      if (group.heading.textContent !== heading) group.heading.textContent = heading;
      sections.push(group.section);
    }
    for (const [key, tile] of this.tiles)
      if (!seen.has(key)) {
        tile.element.remove();
        this.tiles.delete(key);
      }
    for (const name of this.groups.keys()) if (!byGroup.has(name)) this.groups.delete(name);
    if (sections.length !== map.children.length || sections.some((s, i) => map.children[i] !== s))
      map.replaceChildren(...sections);
    if (!this.tabStop?.isConnected) {
      this.tabStop = undefined;
      this.focusable(map.querySelector("button.tile") || undefined);
    }
  }

  groupSection(name) {
    let group = this.groups.get(name);
    if (group) return group;
    const section = document.createElement("section");
    section.className = "group";
    section.dataset.group = name;
    const heading = document.createElement("h3");
    const tiles = document.createElement("div");
    tiles.className = "tiles";
    section.append(heading, tiles);
    group = { section, heading, tiles };
    this.groups.set(name, group);
    return group;
  }

  newTile(node) {
    const element = document.createElement("button");
    element.type = "button";
    element.tabIndex = -1;
    element.dataset.node = node.key;
    const edge = document.createElement("span");
    edge.className = "edge";
    edge.textContent = node.edge;
    const numbers = document.createElement("span");
    numbers.className = "numbers";
    element.append(edge, numbers);
    element.addEventListener("click", () =>
      this.onPick({ show: "all", scope: { group: node.group, node: node.key } }),
    );
    return { element, numbers, key: "" };
  }

  updateTile(tile, node) {
    const key = node.status + "/" + node.devices + "/" + node.listed + "/" + node.devicesDown;
    if (key === tile.key) return;
    tile.key = key;
    const status = STATUS_LABELS[node.status] || node.status;
    tile.element.className =
      "tile " + node.status + (node.devicesDown > 0 && node.status === "online" ? " devices-down" : "");
    tile.numbers.textContent = node.devices + " dev · " + node.listed + " listed";
    tile.element.title =
      node.key +
      ": " +
      status +
      ", " +
      node.devices +
      " devices (" +
      node.devicesDown +
      " down), " +
      node.listed +
      " listed; click to show them in the table";
  }

  /** Marks the tile of the node the table is filtered to (aria-pressed), if any. */
  select(nodeKey) {
    if (this.selected === nodeKey) return;
    this.tiles.get(this.selected)?.element.setAttribute("aria-pressed", "false");
    this.selected = nodeKey || null;
    const tile = this.tiles.get(this.selected);
    tile?.element.setAttribute("aria-pressed", "true");
    if (tile) this.focusable(tile.element);
  }
}
