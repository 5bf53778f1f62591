import type { SparkplugDetails } from "./details.js";

/**
 * The MQTT subscriptions Sparkplug discovery needs: the namespace and the host's own
 * 3.0 STATE topic (both before the STATE birth, in the one SUBSCRIBE the connection sends
 * on connect: what the TCK's host SessionEstablishmentTest checks), 2.2 STATE, and a
 * Sparkplug-aware broker's stored births for a cold start. An Include filter on groupIds
 * narrows the namespace to those groups (so a handler for one group does not receive the
 * whole plant) and takes STATE from `spBv1.0/STATE/+`, which covers our own; the TCK
 * insists on the literal `spBv1.0/#` (sparkplug#460, #555), so such a host fails it.
 */
export function subscriptionsFor(sparkplug: SparkplugDetails, stateHostId?: string): string[] {
  const { groupIds, useCertificates } = sparkplug;
  const groups = groupIds?.action === "Include" ? groupIds.items : undefined;
  const filters = groups === undefined ? ["spBv1.0/#"] : groups.map((g) => `spBv1.0/${g}/#`);
  if (groups !== undefined) filters.push("spBv1.0/STATE/+");
  else if (stateHostId !== undefined) filters.push(`spBv1.0/STATE/${stateHostId}`);
  filters.push("STATE/+");
  if (useCertificates) {
    if (groups === undefined) filters.push("$sparkplug/certificates/spBv1.0/#");
    else for (const g of groups) filters.push(`$sparkplug/certificates/spBv1.0/${g}/#`);
  }
  return [...new Set(filters)];
}
