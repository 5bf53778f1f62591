import type { DataType } from "./datatype.js";

/**
 * A protobuf uint64 as the codec hands it out: a `number` while it is a safe integer,
 * a `bigint` above 2^53 - 1. One canonical form per value, so it works as a Map key.
 */
export type Uint64 = number | bigint;

/** A decoded Sparkplug B payload, values typed through their (declared or birth) datatypes. */
export interface SparkplugPayload {
  /** Publish time, ms since epoch (UTC). */
  timestamp?: number;
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
  metrics: Metric[];
  /** True when the payload arrived in Tahu's `SPBV1.0_COMPRESSED` envelope and was inflated. */
  compressed?: boolean;
}

/**
 * The node control metric an NBIRTH must declare (Boolean) and a host sets to true in an
 * NCMD to ask the node for a rebirth.
 */
export const REBIRTH_METRIC = "Node Control/Rebirth";

/** The metric of NBIRTH and NDEATH that ties a death to its birth's session. */
export const BDSEQ_METRIC = "bdSeq";

/** One metric as decoded; `datatype` is the declared one, else the birth table's, else Unknown. */
export interface Metric {
  name?: string;
  alias?: Uint64;
  timestamp?: number;
  datatype: DataType;
  /** Where `datatype` came from: the metric itself, the birth table, or nowhere. */
  datatypeSource: "metric" | "birth" | "none";
  value: MetricValue;
  isNull: boolean;
  isHistorical: boolean;
  isTransient: boolean;
  metadata?: MetaData;
  properties?: PropertySet;
  /** What could not be interpreted in this metric (wrong value field, bad array length, …). */
  problem?: string;
}

/**
 * A metric value by datatype: Int8-32/UInt8-32/Float/Double → number; Int64/UInt64/DateTime → bigint;
 * Boolean → boolean; String/Text/UUID → string; Bytes/File → Uint8Array; arrays → arrays of the
 * element type (64-bit elements as bigint); DataSet, Template, PropertySet(List) → their structures.
 */
export type MetricValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | DataSetValue
  | TemplateValue
  | PropertySet
  | readonly PropertySet[]
  | null;

/** A cell, parameter or property scalar: the basic types only. */
export type ScalarValue = number | bigint | boolean | string | null;

export interface DataSetValue {
  readonly kind: "DataSet";
  columns: string[];
  types: DataType[];
  rows: ScalarValue[][];
}

export interface TemplateParameter {
  name: string;
  type: DataType;
  value: ScalarValue;
}

export interface TemplateValue {
  readonly kind: "Template";
  isDefinition: boolean;
  /** For an instance: the metric name of the definition it instantiates. */
  templateRef?: string;
  version?: string;
  parameters: TemplateParameter[];
  metrics: Metric[];
}

export interface PropertyValue {
  type: DataType;
  value: ScalarValue | PropertySet | readonly PropertySet[];
}

/** PropertySet keys in wire order; a Map so that keys such as `__proto__` stay plain data. */
export type PropertySet = Map<string, PropertyValue>;

export interface MetaData {
  isMultiPart?: boolean;
  contentType?: string;
  size?: Uint64;
  seq?: Uint64;
  fileName?: string;
  fileType?: string;
  md5?: string;
  description?: string;
}

/** Narrowing helpers for the structured value kinds. */
export function isDataSetValue(v: MetricValue): v is DataSetValue {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind === "DataSet";
}

export function isTemplateValue(v: MetricValue): v is TemplateValue {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind === "Template";
}
