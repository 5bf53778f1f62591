import { type ActiveStream, configurationOf } from "./stream-registry.js";

/*
 * The device gauges of /metrics: every open stream's last list, counted by broker, by
 * Configuration and status, and by status alone. Statuses and brokers are read live from
 * the discovery (a device's status moves with no new list).
 */

/** Devices of every open stream's last list, by the broker they live on. */
export function devicesByBroker(streams: Iterable<ActiveStream>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const stream of streams) {
    const sent = stream.lastSent;
    if (sent === undefined) continue;
    for (const device of sent.devices) {
      const broker = sent.brokerOf(device.id);
      if (broker !== undefined) counts[broker] = (counts[broker] ?? 0) + 1;
    }
  }
  return counts;
}

/** Devices of every open stream's last list, by its Configuration and how they are doing now. */
export function devicesByConfiguration(
  streams: Iterable<ActiveStream>,
): { configuration: string; status: string; n: number }[] {
  const counts = new Map<string, Record<string, number>>();
  for (const stream of streams) {
    const sent = stream.lastSent;
    if (!sent) continue;
    const configuration = configurationOf(stream);
    let byStatus = counts.get(configuration);
    if (!byStatus) {
      byStatus = { online: 0, stale: 0, offline: 0 };
      counts.set(configuration, byStatus);
    }
    for (const device of sent.devices) {
      const status = sent.statusOf(device.id) ?? "offline";
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
  }
  return [...counts].flatMap(([configuration, byStatus]) =>
    Object.entries(byStatus).map(([status, n]) => ({ configuration, status, n })),
  );
}

/** Devices of every open stream's last list, by how they are doing now (all Configurations). */
export function devicesByStatus(streams: Iterable<ActiveStream>): Record<string, number> {
  const counts: Record<string, number> = { online: 0, stale: 0, offline: 0 };
  for (const { status, n } of devicesByConfiguration(streams)) counts[status] = (counts[status] ?? 0) + n;
  return counts;
}
