import { DataType } from "./datatype.js";
import { isTemplateValue, type Metric, type MetricValue, type Uint64 } from "./payload.js";

/** What a BIRTH says about one metric: enough to decode its later alias-only DATA. Immutable, shared. */
export interface MetricDefinition {
  readonly name: string;
  readonly datatype: DataType;
  /** For a Template metric: its members, to decode instances that DATA sends partially. */
  readonly members?: MetricTable;
}

/**
 * Which birth values a table keeps: none, every scalar, everything, or the scalars of the
 * named metrics only (discovery: the ones its property mappings and selectors read; keeping
 * every scalar of every device costs some 700 bytes a device at 20 metrics).
 */
export type KeptValues = "none" | "scalars" | "all" | ReadonlySet<string>;

function keeps(kept: KeptValues, value: MetricValue, name: string): boolean {
  if (kept === "all") return true;
  if (kept === "none") return false;
  if (kept !== "scalars" && !kept.has(name)) return false;
  return value === null || typeof value !== "object";
}

/*
 * Memory matters here: a plant has one table per device, and 100,000 devices with 20
 * birth metrics each are two million entries. Definitions (name, datatype) are the same
 * for every device of a kind, so they are interned and shared; aliases, usually a compact
 * range, index a small typed array instead of a Map; the name index is built only when a
 * lookup by name happens; values live in a parallel array only when kept. And the table
 * itself has few fields (64 bytes): what most tables never have (kept values, duplicate
 * aliases) is one field or none.
 */

const INTERN_LIMIT = 200_000;
const interned = new Map<string, MetricDefinition>();

function definitionOf(name: string, datatype: DataType): MetricDefinition {
  const key = `${datatype}:${name}`;
  let definition = interned.get(key);
  if (!definition) {
    definition = Object.freeze({ name, datatype });
    // Bounded: hostile births with endless new names do not grow memory without limit.
    if (interned.size < INTERN_LIMIT) interned.set(key, definition);
  }
  return definition;
}

const NO_DUPLICATES: readonly Uint64[] = Object.freeze([]);

const SHARED_LIMIT = 10_000;

const SEQUENTIAL = 1;

/**
 * Name → index, by definitions array: tables that share their definitions (every device of
 * one kind) share it too, instead of a Map per device once properties or selectors read
 * birth values by name. An array that changes drops its entry.
 */
const nameIndexes = new WeakMap<readonly MetricDefinition[], Map<string, number>>();
const sharedDefinitions = new Map<string, MetricDefinition[]>();
/** Aliases a birth gave to more than one metric, by table: rare, so not a field of every table. */
const duplicates = new WeakMap<MetricTable, Uint64[]>();

/**
 * The metrics of one birth (an edge node's NBIRTH or a device's DBIRTH): alias → (name,
 * datatype) and name → (alias, datatype). 3.0 DATA metrics carry only an alias and no
 * datatype, so they can only be decoded through the birth that defined them.
 */
export class MetricTable {
  private definitions: MetricDefinition[] = [];
  private aliases: Uint64[] | undefined;
  /**
   * Kept values and when they were measured, side by side: value of metric i at 2i, its
   * timestamp at 2i + 1. (Fields are few: there is a table per device; see also `duplicates`.)
   */
  private kept: (MetricValue | number | undefined)[] | undefined;
  private aliasOffset = 0;
  /**
   * The aliases are aliasOffset, aliasOffset + 1, … in birth order (the usual case): no
   * index needed. Then every metric has an alias, so their count is the table's size.
   */
  private get sequentialAliases(): boolean {
    return this.aliasIndex === SEQUENTIAL;
  }
  /**
   * SEQUENTIAL; or, for a compact range of aliases, alias - aliasOffset → index + 1 (0: no
   * such alias); or alias → index, for sparse or very large aliases. (One field for the
   * three: there is a table per device.)
   */
  private aliasIndex: typeof SEQUENTIAL | Int32Array | Map<Uint64, number> | undefined;

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
      let definition: MetricDefinition;
      if (metric.datatype === DataType.Template && isTemplateValue(metric.value)) {
        const template = metric.value;
        const base = template.templateRef
          ? (table.get(template.templateRef) ?? templates?.get(template.templateRef))
          : undefined;
        const members = MetricTable.fromMembers(template.metrics, base?.members, templates ?? table, kept);
        definition = { name: metric.name, datatype: metric.datatype, members };
      } else {
        definition = definitionOf(metric.name, metric.datatype);
      }
      table.push(
        definition,
        metric.alias,
        keeps(kept, metric.value, metric.name) ? metric.value : undefined,
        metric.timestamp,
      );
    }
    table.indexAliases();
    table.shareDefinitions();
    return table;
  }

  /**
   * Devices of one kind have the same birth metrics: their tables share one definitions
   * array (bounded cache; tables with template members keep their own).
   */
  private shareDefinitions(): void {
    if (this.definitions.length === 0 || this.definitions.some((d) => d.members !== undefined)) return;
    let key = "";
    for (const d of this.definitions) key += `${d.datatype}:${d.name}\u0000`;
    const shared = sharedDefinitions.get(key);
    if (shared) this.definitions = shared;
    else if (sharedDefinitions.size < SHARED_LIMIT) sharedDefinitions.set(key, this.definitions);
  }

  private static fromMembers(
    metrics: readonly Metric[],
    definitionMembers: MetricTable | undefined,
    templates: MetricTable,
    kept: KeptValues,
  ): MetricTable {
    const members = MetricTable.fromBirth(metrics, templates, kept);
    if (!definitionMembers) return members;
    let copied = false;
    // Members the instance leaves out (or sends untyped) keep the definition's datatype.
    for (const def of definitionMembers.definitions) {
      const own = members.indexOfName(def.name);
      // The definitions array may be shared with other tables: copy before changing it.
      if (!copied) {
        members.definitions = [...members.definitions];
        copied = true;
      }
      if (own === undefined) members.push(def, undefined, undefined, undefined);
      else if (members.definitions[own]!.datatype === DataType.Unknown) members.definitions[own] = def;
    }
    nameIndexes.delete(members.definitions);
    return members;
  }

  private push(
    definition: MetricDefinition,
    alias: Uint64 | undefined,
    value: MetricValue | undefined,
    timestamp: number | undefined,
  ): void {
    const index = this.definitions.length;
    nameIndexes.delete(this.definitions);
    this.definitions.push(definition);
    if (alias !== undefined) {
      this.aliases ??= [];
      this.aliases[index] = alias;
    }
    if (value !== undefined) {
      this.kept ??= [];
      this.kept[2 * index] = value;
      if (timestamp !== undefined) this.kept[2 * index + 1] = timestamp;
    }
  }

  private indexAliases(): void {
    const aliases = this.aliases;
    if (!aliases) return;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let count = 0;
    let compact = true;
    for (const alias of aliases) {
      if (alias === undefined) continue;
      count++;
      if (typeof alias !== "number") {
        compact = false;
        continue;
      }
      if (alias < min) min = alias;
      if (alias > max) max = alias;
    }
    if (compact && count === this.definitions.length && aliases.every((alias, i) => alias === min + i)) {
      this.aliasOffset = min;
      this.aliasIndex = SEQUENTIAL;
      this.aliases = undefined;
      return;
    }
    if (compact && count > 0 && max - min + 1 <= 4 * count + 16) {
      this.aliasOffset = min;
      const slots = new Int32Array(max - min + 1);
      this.aliasIndex = slots;
      aliases.forEach((alias, index) => {
        if (alias === undefined) return;
        const slot = (alias as number) - min;
        if (slots[slot] !== 0) this.duplicate(alias);
        slots[slot] = index + 1;
      });
    } else {
      const map = new Map<Uint64, number>();
      this.aliasIndex = map;
      aliases.forEach((alias, index) => {
        if (alias === undefined) return;
        if (map.has(alias)) this.duplicate(alias);
        map.set(alias, index);
      });
    }
  }

  private duplicate(alias: Uint64): void {
    const list = duplicates.get(this);
    if (list === undefined) duplicates.set(this, [alias]);
    else list.push(alias);
  }

  /** Aliases that the birth gave to more than one metric (a protocol violation). */
  get duplicateAliases(): readonly Uint64[] {
    return duplicates.get(this) ?? NO_DUPLICATES;
  }

  private indexOfAlias(alias: Uint64): number | undefined {
    const aliasIndex = this.aliasIndex;
    if (aliasIndex === SEQUENTIAL) {
      if (typeof alias !== "number") return undefined;
      const index = alias - this.aliasOffset;
      return index >= 0 && index < this.definitions.length ? index : undefined;
    }
    if (aliasIndex instanceof Int32Array) {
      if (typeof alias !== "number") return undefined;
      const slot = alias - this.aliasOffset;
      if (slot < 0 || slot >= aliasIndex.length) return undefined;
      const index = aliasIndex[slot]!;
      return index === 0 ? undefined : index - 1;
    }
    return aliasIndex?.get(alias);
  }

  private indexOfName(name: string): number | undefined {
    let index = nameIndexes.get(this.definitions);
    if (!index) {
      index = new Map<string, number>();
      for (let i = 0; i < this.definitions.length; i++) index.set(this.definitions[i]!.name, i);
      nameIndexes.set(this.definitions, index);
    }
    return index.get(name);
  }

  /** Where the metric a DATA metric refers to sits: by alias first, then by name. */
  indexOf(alias: Uint64 | undefined, name: string | undefined): number | undefined {
    if (alias !== undefined) {
      const index = this.indexOfAlias(alias);
      if (index !== undefined) return index;
    }
    return name === undefined ? undefined : this.indexOfName(name);
  }

  /** The definition a DATA metric refers to: by alias first, then by name. */
  resolve(alias: Uint64 | undefined, name: string | undefined): MetricDefinition | undefined {
    const index = this.indexOf(alias, name);
    return index === undefined ? undefined : this.definitions[index];
  }

  /** The definition of a metric by name. */
  get(name: string): MetricDefinition | undefined {
    const index = this.indexOfName(name);
    return index === undefined ? undefined : this.definitions[index];
  }

  has(name: string): boolean {
    return this.indexOfName(name) !== undefined;
  }

  /** The kept value of a metric (its birth value, or the latest when values are tracked). */
  valueOf(name: string): MetricValue | undefined {
    const index = this.indexOfName(name);
    return index === undefined ? undefined : (this.kept?.[2 * index] as MetricValue | undefined);
  }

  /** When the kept value was measured, ms. */
  timestampOf(name: string): number | undefined {
    const index = this.indexOfName(name);
    return index === undefined ? undefined : (this.kept?.[2 * index + 1] as number | undefined);
  }

  /** Records the current value of the metric at `index` (hosts that track values). */
  setValue(index: number, value: MetricValue, timestamp: number | undefined): void {
    this.kept ??= [];
    this.kept[2 * index] = value;
    this.kept[2 * index + 1] = timestamp;
  }

  /** The alias of a metric, if it has one. */
  aliasOf(name: string): Uint64 | undefined {
    const index = this.indexOfName(name);
    return index === undefined ? undefined : this.aliasAt(index);
  }

  private aliasAt(index: number): Uint64 | undefined {
    if (this.sequentialAliases) return index < this.definitions.length ? this.aliasOffset + index : undefined;
    return this.aliases?.[index];
  }

  /** Every metric, in birth order. */
  *entries(): IterableIterator<{
    definition: MetricDefinition;
    alias: Uint64 | undefined;
    value: MetricValue | undefined;
  }> {
    for (let i = 0; i < this.definitions.length; i++) {
      yield {
        definition: this.definitions[i]!,
        alias: this.aliasAt(i),
        value: this.kept?.[2 * i] as MetricValue | undefined,
      };
    }
  }

  get size(): number {
    return this.definitions.length;
  }
}
