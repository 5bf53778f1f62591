import { DataType } from "./datatype.js";
import { isTemplateValue, type Metric, type MetricValue, type Uint64 } from "./payload.js";

const DENSE_ALIAS_LIMIT = 65536;

/** What a BIRTH says about one metric: enough to decode its later alias-only DATA. */
export interface MetricDefinition {
  name: string;
  alias?: Uint64;
  datatype: DataType;
  /** For a Template metric: its members, to decode instances that DATA sends partially. */
  members?: MetricTable;
  /** The birth value (or the latest, when the host tracks values), when kept. */
  value?: MetricValue;
  /** When `value` was measured, ms. */
  timestamp?: number;
}

/**
 * Which birth values a table keeps: none (names and types only), scalars (numbers,
 * strings, booleans: what property mappings and selectors need), or all.
 */
export type KeptValues = "none" | "scalars" | "all";

function keeps(kept: KeptValues, value: MetricValue): boolean {
  if (kept === "all") return true;
  if (kept === "none") return false;
  return value === null || typeof value !== "object";
}

/**
 * The alias → (name, datatype) and name → (alias, datatype) tables of one birth
 * (an edge node's NBIRTH or a device's DBIRTH). 3.0 DATA metrics carry only an alias and
 * no datatype, so they can only be decoded through the birth that defined them.
 */
export class MetricTable {
  readonly byAlias = new Map<Uint64, MetricDefinition>();
  /** The same as byAlias for small aliases, as an array: the lookup every DATA metric makes. */
  private readonly denseAliases: (MetricDefinition | undefined)[] = [];
  readonly byName = new Map<string, MetricDefinition>();
  /** Aliases that the birth gave to more than one metric (a protocol violation). */
  readonly duplicateAliases: Uint64[] = [];

  /**
   * Builds the table of a birth's metrics. `templates` supplies definitions that the birth
   * itself does not carry (a DBIRTH's instances refer to the NBIRTH's definitions).
   */
  static fromBirth(
    metrics: readonly Metric[],
    templates?: MetricTable,
    kept: KeptValues = "scalars",
  ): MetricTable {
    const table = new MetricTable();
    for (const metric of metrics) {
      if (metric.name === undefined) continue;
      const definition: MetricDefinition = { name: metric.name, datatype: metric.datatype };
      if (metric.alias !== undefined) definition.alias = metric.alias;
      if (keeps(kept, metric.value)) {
        definition.value = metric.value;
        if (metric.timestamp !== undefined) definition.timestamp = metric.timestamp;
      }
      if (metric.datatype === DataType.Template && isTemplateValue(metric.value)) {
        const template = metric.value;
        const base = template.templateRef
          ? (table.byName.get(template.templateRef) ?? templates?.byName.get(template.templateRef))
          : undefined;
        definition.members = MetricTable.fromMembers(
          template.metrics,
          base?.members,
          templates ?? table,
          kept,
        );
      }
      table.add(definition);
    }
    return table;
  }

  private static fromMembers(
    metrics: readonly Metric[],
    definitionMembers: MetricTable | undefined,
    templates: MetricTable,
    kept: KeptValues,
  ): MetricTable {
    const members = MetricTable.fromBirth(metrics, templates, kept);
    if (definitionMembers) {
      // Members the instance leaves out (or sends untyped) keep the definition's datatype.
      for (const [name, def] of definitionMembers.byName) {
        const own = members.byName.get(name);
        if (!own) members.add(def);
        else if (own.datatype === DataType.Unknown) own.datatype = def.datatype;
      }
    }
    return members;
  }

  private add(definition: MetricDefinition): void {
    this.byName.set(definition.name, definition);
    if (definition.alias === undefined) return;
    if (this.byAlias.has(definition.alias)) this.duplicateAliases.push(definition.alias);
    this.byAlias.set(definition.alias, definition);
    if (typeof definition.alias === "number" && definition.alias < DENSE_ALIAS_LIMIT) {
      while (this.denseAliases.length <= definition.alias) this.denseAliases.push(undefined);
      this.denseAliases[definition.alias] = definition;
    }
  }

  /** The definition a DATA metric refers to: by alias first, then by name. */
  resolve(alias: Uint64 | undefined, name: string | undefined): MetricDefinition | undefined {
    if (alias !== undefined) {
      const byAlias =
        typeof alias === "number" && alias < this.denseAliases.length
          ? this.denseAliases[alias]
          : this.byAlias.get(alias);
      if (byAlias) return byAlias;
    }
    return name === undefined ? undefined : this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}
