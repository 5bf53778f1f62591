import type { MetricTable } from "../../sparkplug/metric-table.js";
import type { MetricValue } from "../../sparkplug/payload.js";
import type { BirthMetricSelector } from "./details.js";

/*
 * birthMetrics selectors against a birth: what the inventory lists by, and what explains
 * why an entity is not listed. A device's selectors read its own birth first, then its node's.
 */

/** Renders a birth value as a property string, or undefined when it cannot be one. */
export function propertyValue(value: MetricValue | undefined): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      return undefined;
  }
}

function matches(selector: BirthMetricSelector, table: MetricTable | undefined): boolean {
  if (!table?.has(selector.name)) return false;
  if (selector.equals === undefined) return true;
  return propertyValue(table.valueOf(selector.name)) === String(selector.equals);
}

function satisfies(
  selector: BirthMetricSelector,
  table: MetricTable | undefined,
  fallback: MetricTable | undefined,
): boolean {
  return matches(selector, table) || (fallback !== undefined && matches(selector, fallback));
}

/** Does a birth satisfy every selector (own table first, then the node's)? */
export function selected(
  selectors: readonly BirthMetricSelector[],
  table: MetricTable | undefined,
  fallback: MetricTable | undefined,
): boolean {
  return selectors.every((s) => satisfies(s, table, fallback));
}

/** The first selector the birth does not satisfy, described; undefined if all do. */
export function selectorMismatch(
  selectors: readonly BirthMetricSelector[],
  table: MetricTable | undefined,
  fallback: MetricTable | undefined,
): string | undefined {
  for (const selector of selectors) {
    if (satisfies(selector, table, fallback)) continue;
    const source = table?.has(selector.name) ? table : fallback?.has(selector.name) ? fallback : undefined;
    if (source === undefined) return `birthMetrics: the birth has no metric ${JSON.stringify(selector.name)}`;
    const value = propertyValue(source.valueOf(selector.name));
    return `birthMetrics: ${JSON.stringify(selector.name)} is ${value === undefined ? "not a scalar" : JSON.stringify(value)}, not ${JSON.stringify(String(selector.equals))}`;
  }
  return undefined;
}
