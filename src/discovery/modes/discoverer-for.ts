import type { DiscoveryDetails } from "../details.js";
import type { Discoverer } from "../discoverer.js";
import { DiscoveryEngine } from "../engine.js";
import { GenericDiscoverer } from "../generic/generic-discoverer.js";
import type { EmitterTiming } from "../list-emitter.js";
import { SparkplugDiscoverer, type SparkplugDiscovererOptions } from "../sparkplug/sparkplug-discoverer.js";

/* The one place that knows every discovery mode: a Discoverer for a Configuration's details. */

export type DiscovererOptions = SparkplugDiscovererOptions;

export function discovererFor(details: DiscoveryDetails, options: DiscovererOptions): Discoverer {
  return details.mode === "sparkplug"
    ? new SparkplugDiscoverer(details, options)
    : new GenericDiscoverer(details);
}

/** A discovery engine over the mode the details ask for. */
export function engineFor(
  details: DiscoveryDetails,
  options: DiscovererOptions & { timing?: EmitterTiming | undefined },
): DiscoveryEngine {
  const { timing, ...discoverer } = options;
  return new DiscoveryEngine(discovererFor(details, discoverer), {
    maxPayloadBytes: details.maxPayloadBytes,
    ...(timing ? { timing } : {}),
  });
}
