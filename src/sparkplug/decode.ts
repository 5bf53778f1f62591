import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import type protobuf from "protobufjs";
import { unpackArray } from "./arrays.js";
import { DataType, dataTypeName, isArrayType, isDataType, isInt32Family, isInt64Family } from "./datatype.js";
import type { MetricDefinition, MetricTable } from "./metric-table.js";
import type {
  DataSetValue,
  MetaData,
  Metric,
  MetricValue,
  PropertySet,
  PropertyValue,
  ScalarValue,
  SparkplugPayload,
  TemplateValue,
  Uint64,
} from "./payload.js";
import { type MetricRef, type PayloadHeader, readPayload, scanPayload } from "./payload-reader.js";
import {
  createReader,
  type RawDataSet,
  type RawMetaData,
  type RawMetric,
  type RawPropertySet,
  type RawPropertyValue,
  type RawTemplate,
  resetReader,
} from "./proto.js";
import { type ProblemSink, presentValueField, readScalar, untypedScalar } from "./scalar.js";

/** Why a payload could not be decoded, and where in its bytes. */
interface DecodeError {
  message: string;
  /** Byte offset in the payload where decoding stopped, when known. */
  offset?: number;
}

export type DecodeResult = { ok: true; payload: SparkplugPayload } | { ok: false; error: DecodeError };

export interface DecodeOptions {
  /** The birth's metric table: resolves alias-only, datatype-less DATA metrics. */
  table?: MetricTable | undefined;
  /** Largest size a compressed payload may inflate to (default 16 MiB). */
  maxInflatedBytes?: number;
}

/** Tahu's convention (not in the spec) for a DEFLATE/GZIP payload wrapped in `body`. */
const COMPRESSED_UUID = "SPBV1.0_COMPRESSED";
const DEFAULT_MAX_INFLATED = 16 * 1024 * 1024;

/** Whether a payload (or a scanned header) wraps a compressed one in its `body`. */
export function isCompressed(header: { uuid?: string | undefined; body?: Uint8Array | undefined }): boolean {
  return header.uuid === COMPRESSED_UUID && header.body !== undefined;
}

/** Decodes a Sparkplug B payload. Never throws: malformed bytes give `{ok: false}` with the offset. */
export function decodePayload(bytes: Uint8Array, options?: DecodeOptions): DecodeResult {
  const outer = readAndInterpret(bytes, options?.table);
  if (!outer.ok) return outer;
  const payload = outer.payload;
  if (!isCompressed(payload)) return outer;
  const inflated = inflate(payload, options?.maxInflatedBytes ?? DEFAULT_MAX_INFLATED);
  if ("error" in inflated) return { ok: false, error: inflated.error };
  const inner = readAndInterpret(inflated.bytes, options?.table);
  if (!inner.ok) {
    return { ok: false, error: { ...inner.error, message: `compressed payload: ${inner.error.message}` } };
  }
  inner.payload.compressed = true;
  return inner;
}

/** A DATA metric that the birth table does not resolve, by its alias and name. */
export interface UnresolvedMetric {
  alias: Uint64 | undefined;
  name: string | undefined;
}

export type DataSummary =
  | { ok: true; payload: SparkplugPayload; unresolved: readonly UnresolvedMetric[] }
  | { ok: false; error: DecodeError };

const NO_METRICS: readonly Metric[] = Object.freeze([]);
const NO_UNRESOLVED: readonly UnresolvedMetric[] = Object.freeze([]);

/*
 * summarizeData runs for every DATA message: one reader is reset for each (the scan is
 * synchronous and never re-entered), and the per-metric check is one function reading the
 * table and the list it fills from these variables, not a closure made per call.
 */
let reusedReader: protobuf.Reader | undefined;
let summaryTable: MetricTable | undefined;
/** Made at the first metric the table does not resolve (most DATA has none). */
let summaryUnresolved: UnresolvedMetric[] | undefined;

function summaryReader(bytes: Uint8Array): protobuf.Reader {
  if (reusedReader === undefined) {
    reusedReader = createReader(bytes);
    return reusedReader;
  }
  resetReader(reusedReader, bytes);
  return reusedReader;
}

function checkRef(ref: MetricRef): void {
  const table = summaryTable;
  let index = ref.alias === undefined ? undefined : table?.indexOf(ref.alias, undefined);
  if (index === undefined && ref.hasName) index = table?.indexOf(undefined, ref.name);
  if (index !== undefined) return;
  summaryUnresolved ??= [];
  summaryUnresolved.push({ alias: ref.alias, name: ref.name });
}

/**
 * A DATA payload read only as far as discovery needs it: the header (seq, timestamp) and the
 * metrics that `table` does not resolve (by alias, else by name). No Metric objects are
 * built and no value is interpreted, so `payload.metrics` is empty; malformed bytes fail
 * exactly as in `decodePayload`. A compressed payload is decoded in full.
 */
export function summarizeData(bytes: Uint8Array, options?: DecodeOptions): DataSummary {
  const table = options?.table;
  const scanned = scanData(bytes, table, {
    timestamp: undefined,
    seq: undefined,
    uuid: undefined,
    body: undefined,
  });
  if ("message" in scanned) return { ok: false, error: scanned };
  const { header, unresolved } = scanned;
  if (isCompressed(header)) {
    const full = decodePayload(bytes, options);
    if (!full.ok) return full;
    return {
      ok: true,
      payload: full.payload,
      unresolved: full.payload.metrics
        .filter((m) => resolvedIndex(m, table) === undefined)
        .map((m) => ({ alias: m.alias, name: m.name })),
    };
  }
  return {
    ok: true,
    payload: {
      timestamp: header.timestamp === undefined ? undefined : Number(header.timestamp),
      seq: header.seq === undefined ? undefined : Number(header.seq),
      uuid: header.uuid,
      body: header.body,
      metrics: NO_METRICS as Metric[],
      compressed: undefined,
    },
    unresolved,
  };
}

/** What `scanData` found: the header it filled, and the metrics `table` does not resolve. */
const scanned: { header: PayloadHeader; unresolved: readonly UnresolvedMetric[] } = {
  header: { timestamp: undefined, seq: undefined, uuid: undefined, body: undefined },
  unresolved: NO_UNRESOLVED,
};

/**
 * Scans a DATA payload into `header`, looking each metric up in `table`. Returns one reused
 * result (read it before the next scan), or the error of malformed bytes with its offset.
 */
export function scanData(
  bytes: Uint8Array,
  table: MetricTable | undefined,
  header: PayloadHeader,
): typeof scanned | DecodeError {
  const reader = summaryReader(bytes);
  summaryTable = table;
  summaryUnresolved = undefined;
  try {
    scanned.header = scanPayload(reader, checkRef, header);
  } catch (e) {
    return { message: errorMessage(e), offset: reader.pos };
  } finally {
    summaryTable = undefined;
  }
  scanned.unresolved = summaryUnresolved ?? NO_UNRESOLVED;
  summaryUnresolved = undefined;
  return scanned;
}

/**
 * Where a decoded DATA metric sits in its birth table, or undefined when the birth does not
 * resolve it (untyped and unknown, or typed yet absent: non-compliant but common).
 */
export function resolvedIndex(metric: Metric, table: MetricTable | undefined): number | undefined {
  return metric.datatypeSource === "none" ? undefined : table?.indexOf(metric.alias, metric.name);
}

function readAndInterpret(bytes: Uint8Array, table: MetricTable | undefined): DecodeResult {
  const reader = createReader(bytes);
  const metrics: Metric[] = [];
  try {
    const header = readPayload(reader, (raw) => metrics.push(interpretMetric(raw, table)));
    return {
      ok: true,
      payload: {
        timestamp: header.timestamp === undefined ? undefined : Number(header.timestamp),
        seq: header.seq === undefined ? undefined : Number(header.seq),
        uuid: header.uuid,
        body: header.body,
        metrics,
        compressed: undefined,
      },
    };
  } catch (e) {
    return { ok: false, error: { message: errorMessage(e), offset: reader.pos } };
  }
}

function inflate(
  payload: SparkplugPayload,
  maxOutputLength: number,
): { bytes: Uint8Array } | { error: DecodeError } {
  const algorithmMetric = payload.metrics.find((m) => m.name === "algorithm");
  const algorithm = (
    typeof algorithmMetric?.value === "string" ? algorithmMetric.value : "DEFLATE"
  ).toUpperCase();
  const body = payload.body!;
  try {
    if (algorithm === "GZIP") return { bytes: gunzipSync(body, { maxOutputLength }) };
    try {
      return { bytes: inflateSync(body, { maxOutputLength }) };
    } catch {
      return { bytes: inflateRawSync(body, { maxOutputLength }) };
    }
  } catch (e) {
    return { error: { message: `cannot inflate ${algorithm} compressed payload: ${errorMessage(e)}` } };
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function toNumber(v: Uint64 | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/**
 * Collects what could not be interpreted inside one metric. Allocates only on the first
 * problem: healthy metrics (nearly all of them) pay nothing.
 */
class Problems implements ProblemSink {
  list: string[] | undefined = undefined;

  push(problem: string): void {
    if (this.list === undefined) this.list = [problem];
    else this.list.push(problem);
  }

  unshift(problem: string): void {
    this.list = this.list === undefined ? [problem] : [problem, ...this.list];
  }

  joined(): string | undefined {
    return this.list?.join("; ");
  }
}

/** Interprets one wire metric, resolving a missing datatype (and name) through `table`. */
function interpretMetric(raw: RawMetric, table: MetricTable | undefined): Metric {
  let definition: MetricDefinition | undefined;
  let datatype = raw.datatype;
  let datatypeSource: Metric["datatypeSource"] = "metric";
  // The birth gives a missing datatype, a template's members, and the name of a metric sent
  // by alias alone (with or without its datatype: Tahu's Python and C edge nodes repeat it).
  if (datatype === undefined || datatype === DataType.Template || raw.name === undefined) {
    definition = table?.resolve(raw.alias, raw.name);
  }
  if (datatype === undefined) {
    if (definition) {
      datatype = definition.datatype;
      datatypeSource = "birth";
    } else {
      datatype = DataType.Unknown;
      datatypeSource = "none";
    }
  }
  const problems = new Problems();
  const isNull = raw.isNull === true;
  const value = isNull ? null : interpretValue(datatype, raw, definition, problems);
  if (datatypeSource === "none") {
    problems.unshift(
      table === undefined
        ? "no datatype in the metric and no birth to look it up in"
        : `no datatype in the metric and ${describeRef(raw)} is not in the birth`,
    );
  }
  // Every field assigned in one literal: all Metric objects share one shape.
  const metric: Metric = {
    name: raw.name ?? definition?.name,
    alias: raw.alias,
    timestamp: raw.timestamp === undefined ? undefined : Number(raw.timestamp),
    datatype: isDataType(datatype) ? datatype : DataType.Unknown,
    datatypeSource,
    value,
    isNull,
    isHistorical: raw.isHistorical === true,
    isTransient: raw.isTransient === true,
    metadata: raw.metadata === undefined ? undefined : interpretMetaData(raw.metadata),
    properties: raw.properties === undefined ? undefined : interpretPropertySet(raw.properties, problems),
    problem: undefined,
  };
  metric.problem = problems.joined();
  return metric;
}

function describeRef(raw: RawMetric): string {
  if (raw.alias !== undefined) return `alias ${raw.alias}`;
  if (raw.name !== undefined) return `name ${JSON.stringify(raw.name)}`;
  return "a metric without name or alias";
}

function interpretValue(
  datatype: number,
  raw: RawMetric,
  definition: MetricDefinition | undefined,
  problems: Problems,
): MetricValue {
  if (
    isInt32Family(datatype) ||
    isInt64Family(datatype) ||
    (datatype >= DataType.Float && datatype <= DataType.UUID)
  ) {
    return readScalar(datatype, raw, problems);
  }
  if (datatype === DataType.Bytes || datatype === DataType.File) {
    if (raw.bytesValue !== undefined) return raw.bytesValue;
    problems.push(`datatype ${dataTypeName(datatype)} expects bytes_value, found ${presentValueField(raw)}`);
    return null;
  }
  if (isArrayType(datatype)) {
    if (raw.bytesValue === undefined) {
      problems.push(
        `datatype ${dataTypeName(datatype)} expects bytes_value, found ${presentValueField(raw)}`,
      );
      return null;
    }
    const result = unpackArray(datatype, raw.bytesValue);
    if (result.problem) problems.push(result.problem);
    return result.value;
  }
  if (datatype === DataType.DataSet) {
    if (raw.datasetValue !== undefined) return interpretDataSet(raw.datasetValue, problems);
    problems.push(`datatype DataSet expects dataset_value, found ${presentValueField(raw)}`);
    return null;
  }
  if (datatype === DataType.Template) {
    if (raw.templateValue !== undefined)
      return interpretTemplate(raw.templateValue, definition?.members, problems);
    problems.push(`datatype Template expects template_value, found ${presentValueField(raw)}`);
    return null;
  }
  if (datatype === DataType.PropertySet || datatype === DataType.PropertySetList) {
    problems.push(`datatype ${dataTypeName(datatype)} is only valid for property values, not metrics`);
  } else if (datatype !== DataType.Unknown) {
    problems.push(`unknown datatype ${datatype}`);
  }
  return untypedValue(raw, problems);
}

/** A metric value without a usable datatype: the raw field as is. */
function untypedValue(raw: RawMetric, problems: Problems): MetricValue {
  if (raw.bytesValue !== undefined) return raw.bytesValue;
  if (raw.datasetValue !== undefined) return interpretDataSet(raw.datasetValue, problems);
  if (raw.templateValue !== undefined) return interpretTemplate(raw.templateValue, undefined, problems);
  return untypedScalar(raw);
}

function interpretDataSet(raw: RawDataSet, problems: Problems): DataSetValue {
  const columns = raw.columns ?? [];
  const types = (raw.types ?? []).map((t) => (isDataType(t) ? t : DataType.Unknown));
  if (columns.length !== types.length) {
    problems.push(`DataSet has ${columns.length} columns but ${types.length} types`);
  }
  const declared = toNumber(raw.numOfColumns);
  if (declared !== undefined && declared !== columns.length) {
    problems.push(`DataSet num_of_columns is ${declared} but ${columns.length} columns are named`);
  }
  const rows: ScalarValue[][] = [];
  for (const [r, row] of (raw.rows ?? []).entries()) {
    const elements = row.elements ?? [];
    if (elements.length !== types.length) {
      problems.push(`DataSet row ${r} has ${elements.length} elements for ${types.length} columns`);
    }
    rows.push(
      elements.map((element, c) => {
        const type = types[c];
        if (type === undefined) return untypedScalar(element);
        return readScalar(type, element, {
          push: (problem) => problems.push(`DataSet row ${r} column ${c}: ${problem}`),
        });
      }),
    );
  }
  return { kind: "DataSet", columns, types, rows };
}

function interpretTemplate(
  raw: RawTemplate,
  members: MetricTable | undefined,
  problems: Problems,
): TemplateValue {
  const template: TemplateValue = {
    kind: "Template",
    isDefinition: raw.isDefinition === true,
    parameters: [],
    metrics: [],
  };
  // proto2 string defaults leak as "" from some encoders: empty means absent.
  if (raw.templateRef) template.templateRef = raw.templateRef;
  if (raw.version) template.version = raw.version;
  for (const parameter of raw.parameters ?? []) {
    const type = parameter.type ?? DataType.Unknown;
    const name = parameter.name ?? "";
    let value: ScalarValue;
    if (type === DataType.Unknown || !isDataType(type)) {
      value = untypedScalar(parameter);
    } else {
      // A parameter without a value is a definition's parameter with no default: not a problem.
      const hasValue = presentValueField(parameter) !== "no value field";
      value = readScalar(type, parameter, {
        push: (problem) =>
          hasValue && problems.push(`template parameter ${JSON.stringify(name)}: ${problem}`),
      });
    }
    template.parameters.push({ name, type: isDataType(type) ? type : DataType.Unknown, value });
  }
  for (const metric of raw.metrics ?? []) template.metrics.push(interpretMetric(metric, members));
  return template;
}

function interpretPropertySet(raw: RawPropertySet, problems: Problems): PropertySet {
  const keys = raw.keys ?? [];
  const values = raw.values ?? [];
  if (keys.length !== values.length) {
    problems.push(`PropertySet has ${keys.length} keys but ${values.length} values`);
  }
  const set: PropertySet = new Map();
  const count = Math.min(keys.length, values.length);
  for (let i = 0; i < count; i++) set.set(keys[i]!, interpretPropertyValue(values[i]!, problems));
  return set;
}

function interpretPropertyValue(raw: RawPropertyValue, problems: Problems): PropertyValue {
  const type = raw.type ?? DataType.Unknown;
  const known = isDataType(type) ? type : DataType.Unknown;
  if (raw.isNull === true) return { type: known, value: null };
  if (type === DataType.PropertySet) {
    return { type: known, value: interpretPropertySet(raw.propertysetValue ?? {}, problems) };
  }
  if (type === DataType.PropertySetList) {
    const sets = raw.propertysetsValue?.propertyset ?? [];
    return { type: known, value: sets.map((s) => interpretPropertySet(s, problems)) };
  }
  if (known === DataType.Unknown) return { type: known, value: untypedScalar(raw) };
  return {
    type: known,
    value: readScalar(type, raw, { push: (problem) => problems.push(`property value: ${problem}`) }),
  };
}

function interpretMetaData(raw: RawMetaData): MetaData {
  const meta: MetaData = {};
  if (raw.isMultiPart !== undefined) meta.isMultiPart = raw.isMultiPart;
  if (raw.contentType !== undefined) meta.contentType = raw.contentType;
  if (raw.size !== undefined) meta.size = raw.size;
  if (raw.seq !== undefined) meta.seq = raw.seq;
  if (raw.fileName !== undefined) meta.fileName = raw.fileName;
  if (raw.fileType !== undefined) meta.fileType = raw.fileType;
  if (raw.md5 !== undefined) meta.md5 = raw.md5;
  if (raw.description !== undefined) meta.description = raw.description;
  return meta;
}
