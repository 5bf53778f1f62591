import { type DiscoveredDevice, instanceName, type UnlistedEntity } from "../discovery/device.js";
import type { DeviceListEmission } from "../discovery/engine.js";
import { dataTopicProperties, kindLabels, standardProperties } from "../discovery/modes/modes.js";

/** A list with how each of its devices is doing. */
type Listed = Pick<DeviceListEmission, "devices" | "statusOf" | "brokerOf">;

/*
 * The human view of a device list: one row per device with its Akri instance name, as a
 * plain table (pipes, logs) or redrawn in place on a terminal.
 */

/** What the KIND column says: the label its mode declares. */
function kindLabel(kind: string): string {
  return kindLabels[kind] ?? kind;
}

function keyProperties(device: DiscoveredDevice): string {
  const p = device.properties;
  const extra = Object.entries(p)
    .filter(([k]) => !standardProperties.has(k))
    .map(([k, v]) => `${k}=${v}`);
  const topic = dataTopicProperties.map((k) => p[k]).find((v) => v !== undefined) ?? "";
  return [topic, ...extra].join("  ");
}

/** Devices on more than one broker: the table says which each is on. */
function severalBrokers({ devices, brokerOf }: Listed): boolean {
  const first = devices[0] === undefined ? undefined : brokerOf(devices[0].id);
  return devices.some((d) => brokerOf(d.id) !== first);
}

function deviceRows(
  { devices, statusOf, brokerOf }: Listed,
  configuration: string,
  brokers: boolean,
): string[][] {
  return devices.map((d) => [
    d.id,
    kindLabel(d.kind),
    statusOf(d.id) ?? "",
    ...(brokers ? [brokerOf(d.id) ?? ""] : []),
    instanceName(configuration, d.id),
    keyProperties(d),
  ]);
}

function headers(brokers: boolean): string[] {
  return brokers ? [...HEADERS.slice(0, 3), "BROKER", ...HEADERS.slice(3)] : HEADERS;
}

function formatTable(headers: string[], rows: string[][], maxWidth = Number.POSITIVE_INFINITY): string[] {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ")
      .slice(0, maxWidth);
  return [line(headers), ...rows.map(line)];
}

const HEADERS = ["DEVICE ID", "KIND", "STATUS", "AKRI INSTANCE", "DATA TOPIC / PROPERTIES"];

/** The list as plain text lines. */
export function renderDeviceTable(list: Listed, configuration: string): string[] {
  const brokers = severalBrokers(list);
  return formatTable(headers(brokers), deviceRows(list, configuration, brokers));
}

/**
 * Redraws the list in place on a terminal, cut so that the header (its first lines, which say
 * what is shown and where) and the footer stay on screen.
 */
export function redrawDeviceTable(
  out: NodeJS.WriteStream,
  list: Listed,
  configuration: string,
  header: readonly string[],
  footer: readonly string[] = [],
): void {
  const rows = out.rows ?? 40;
  const columns = out.columns ?? 120;
  const brokers = severalBrokers(list);
  const table = formatTable(headers(brokers), deviceRows(list, configuration, brokers), columns);
  // Lines written: the header, a blank, the rows shown, "… and N more", the footer, and the
  // last line where the cursor rests: one more than the screen has and the header scrolls away.
  const room = Math.max(3, rows - header.length - 1 - 1 - footer.length - 1);
  const shown = table.slice(0, room);
  if (table.length > room) shown.push(`… and ${table.length - room} more`);
  const lines = [...header, "", ...shown, ...footer].map((line) => line.slice(0, columns));
  out.write(`\x1b[H\x1b[2J${lines.join("\n")}\n`);
}

/** What discovery saw but does not list, and why (`discover --explain`), as plain text lines. */
export function renderUnlistedTable(unlisted: readonly UnlistedEntity[]): string[] {
  if (unlisted.length === 0) return ["seen but not listed: none"];
  return [
    `seen but not listed: ${unlisted.length}`,
    ...formatTable(
      ["NOT LISTED", "KIND", "STATUS", "REASON", "WHY"],
      unlisted.map((u) => [u.id, kindLabel(u.kind), u.status, u.reason.code, u.reason.message]),
    ),
  ];
}
