/*
 * The plant as the fleet page sees it: each entity of a stream with its place (group, edge
 * node) and its category (listed online, stale or offline; or not listed, with its reason).
 * The counts, the map and the table all read these, and one function (`selects`) says which
 * entities a filter shows: a click on a count or a tile sets that filter, so it selects
 * exactly the rows the table's own controls would.
 */

/** Where an entity sits: its group and its edge node (`spBv1.0/<group>/<edge>`), from its id. */
export function placeOf(id) {
  const parts = id.split("/");
  if (parts[0] === "spBv1.0" && parts.length >= 3) {
    // A mapped id ends in `#<hash>` (Sparkplug ids cannot hold "#"): the node is the same.
    const edge = parts[2].split("#")[0];
    return { group: parts[1], node: "spBv1.0/" + parts[1] + "/" + edge, edge };
  }
  // A generic topic: its first level is the group, its parent path the node.
  const group = parts.length > 1 ? parts[0] : "(topics)";
  const node = parts.length > 2 ? parts.slice(0, -1).join("/") : parts[0];
  return { group, node, edge: node.slice(node.indexOf("/") + 1) };
}

/** The statuses a tile can show, from the least to the most worrying. */
const SEVERITY = { online: 0, "awaiting-birth": 1, stale: 2, offline: 3 };
export const worse = (a, b) => ((SEVERITY[b] ?? 0) > (SEVERITY[a] ?? 0) ? b : a);

/**
 * Every entity of a stream, once, sorted by id (its facts and properties kept as they came:
 * made into lines only for the rows drawn or searched). An id both in the list and explained as not
 * listed (an instance-hash collision: the agent got it, but Akri keeps one instance for it and
 * another) is shown as not listed, with its reason.
 */
export function entitiesOf(stream) {
  const unlistedIds = new Set((stream.unlisted || []).map((u) => u.id));
  const listed = stream.devices
    .filter((d) => !unlistedIds.has(d.id))
    .map((d) => ({
      id: d.id,
      kind: d.kind,
      status: d.status,
      listed: true,
      reason: null,
      instance: d.instanceName,
      broker: d.broker || "",
      facts: d.facts,
      properties: d.properties,
      ...placeOf(d.id),
    }));
  const unlisted = (stream.unlisted || []).map((u) => ({
    id: u.id,
    kind: u.kind,
    status: u.status,
    listed: false,
    reason: u.reason,
    instance: "",
    broker: "",
    facts: u.facts,
    properties: null,
    ...placeOf(u.id),
  }));
  return listed.concat(unlisted).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Whether a filter selects an entity. `show`: all, listed, not listed ("unlisted"), a listed
 * status ("online", "stale", "offline") or a reason ("reason:<code>"); `scope`: a group or an
 * edge node (or neither); `query`: lower-case text searched in what the row shows.
 */
export function selects(entity, show, scope, query, text) {
  if (scope.node && entity.node !== scope.node) return false;
  if (scope.group && entity.group !== scope.group) return false;
  if (show === "listed" && !entity.listed) return false;
  if (show === "unlisted" && entity.listed) return false;
  if (
    (show === "online" || show === "stale" || show === "offline") &&
    !(entity.listed && entity.status === show)
  )
    return false;
  if (show.startsWith("reason:") && (entity.listed || entity.reason.code !== show.slice(7))) return false;
  return !query || text(entity).includes(query);
}

/** Counts by category for one set of entities. */
function emptyCounts() {
  return { entities: 0, listed: 0, online: 0, stale: 0, offline: 0, unlisted: 0, reasons: {} };
}

function add(counts, entity) {
  counts.entities++;
  if (entity.listed) {
    counts.listed++;
    counts[entity.status] = (counts[entity.status] || 0) + 1;
  } else {
    counts.unlisted++;
    counts.reasons[entity.reason.code] = (counts.reasons[entity.reason.code] || 0) + 1;
  }
}

/**
 * The overview of a stream's entities: counts per group and in total, and per edge node its
 * status (its own entity's, or its worst entity's when it has none: a generic topic), how
 * many devices it has and how many of its entities are listed.
 */
export function overviewOf(entities) {
  const total = emptyCounts();
  const groups = new Map();
  const nodes = new Map();
  for (const entity of entities) {
    add(total, entity);
    let group = groups.get(entity.group);
    if (!group) {
      group = emptyCounts();
      groups.set(entity.group, group);
    }
    add(group, entity);
    let node = nodes.get(entity.node);
    if (!node) {
      node = { key: entity.node, group: entity.group, edge: entity.edge, own: null, worst: "online" };
      Object.assign(node, { devices: 0, listed: 0, devicesDown: 0 });
      nodes.set(entity.node, node);
    }
    if (entity.id === entity.node) node.own = entity.status;
    else {
      node.devices++;
      if (entity.status === "offline" || entity.status === "awaiting-birth") node.devicesDown++;
    }
    if (entity.listed) node.listed++;
    node.worst = worse(node.worst, entity.status);
  }
  for (const node of nodes.values()) node.status = node.own ?? node.worst;
  return { total, groups, nodes };
}
