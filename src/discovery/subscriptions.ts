import type { DiscoveryDetails } from "./details.js";

/**
 * The MQTT subscriptions a discovery needs. Sparkplug: the namespace (narrowed to the
 * groups of an Include filter, so a handler for one group does not receive the whole
 * plant), host STATE in both forms, and a Sparkplug-aware broker's stored births for a
 * cold start. Generic: the configured topic filters.
 */
export function subscriptionsFor(details: DiscoveryDetails): string[] {
  if (details.mode === "generic") return [...details.topics];
  const { groupIds, useCertificates } = details.sparkplug;
  const groups = groupIds?.action === "Include" ? groupIds.items : undefined;
  const namespace = groups === undefined ? ["spBv1.0/#"] : groups.map((g) => `spBv1.0/${g}/#`);
  const filters = [...namespace];
  if (groups !== undefined) filters.push("spBv1.0/STATE/+");
  filters.push("STATE/+");
  if (useCertificates) {
    if (groups === undefined) filters.push("$sparkplug/certificates/spBv1.0/#");
    else for (const g of groups) filters.push(`$sparkplug/certificates/spBv1.0/${g}/#`);
  }
  return [...new Set(filters)];
}
