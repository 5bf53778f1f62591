import { packArray } from "./arrays.js";
import { DataType, isArrayType, isInt32Family, isInt64Family } from "./datatype.js";
import type {
  DataSetValue,
  MetaData,
  MetricValue,
  PropertySet,
  PropertyValue,
  ScalarValue,
  TemplateParameter,
  Uint64,
} from "./payload.js";
import { PayloadType, toLongBits } from "./proto.js";

/*
 * Encoding Sparkplug B payloads: rebirth NCMDs, the fleet simulator and hand-built test
 * traffic. Integers are written the way the 3.0 datatype table says (Int8..UInt32 in
 * int_value as 32-bit two's complement, Int64/UInt64/DateTime in long_value); `wire`
 * lets a test write any other field to imitate encoders that do otherwise.
 */

/** A raw value field to write verbatim instead of encoding `value`. */
type WireValue =
  | { intValue: number }
  | { longValue: Uint64 }
  | { floatValue: number }
  | { doubleValue: number }
  | { booleanValue: boolean }
  | { stringValue: string }
  | { bytesValue: Uint8Array };

interface TemplateInput {
  kind: "Template";
  isDefinition: boolean;
  templateRef?: string;
  version?: string;
  parameters?: TemplateParameter[];
  metrics: MetricInput[];
}

export interface MetricInput {
  name?: string;
  alias?: Uint64;
  timestamp?: number;
  datatype: DataType;
  /** null or absent writes `is_null = true` and no value. */
  value?: MetricValue | TemplateInput;
  isHistorical?: boolean;
  isTransient?: boolean;
  metadata?: MetaData;
  properties?: PropertySet;
  /** Leave `datatype` off the wire, as 3.0 DATA and CMD messages should. */
  omitDatatype?: boolean;
  /** Write this value field as is (for traffic that imitates other encoders). */
  wire?: WireValue;
}

export interface PayloadInput {
  timestamp?: number;
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
  metrics?: MetricInput[];
}

type Wire = Record<string, unknown>;

/** Encodes a payload to Sparkplug B protobuf bytes. Throws TypeError on values that do not fit their datatype. */
export function encodePayload(input: PayloadInput): Uint8Array {
  const wire: Wire = {};
  if (input.timestamp !== undefined) wire.timestamp = toLongBits(input.timestamp);
  if (input.metrics !== undefined) wire.metrics = input.metrics.map(metricToWire);
  if (input.seq !== undefined) wire.seq = toLongBits(input.seq);
  if (input.uuid !== undefined) wire.uuid = input.uuid;
  if (input.body !== undefined) wire.body = input.body;
  return PayloadType.encode(wire).finish();
}

function metricToWire(metric: MetricInput): Wire {
  const wire: Wire = {};
  if (metric.name !== undefined) wire.name = metric.name;
  if (metric.alias !== undefined) wire.alias = toLongBits(metric.alias);
  if (metric.timestamp !== undefined) wire.timestamp = toLongBits(metric.timestamp);
  if (!metric.omitDatatype) wire.datatype = metric.datatype;
  if (metric.isHistorical) wire.isHistorical = true;
  if (metric.isTransient) wire.isTransient = true;
  if (metric.metadata !== undefined) wire.metadata = metaDataToWire(metric.metadata);
  if (metric.properties !== undefined) wire.properties = propertySetToWire(metric.properties);
  if (metric.wire !== undefined) {
    Object.assign(wire, wireValue(metric.wire));
  } else if (metric.value === null || metric.value === undefined) {
    wire.isNull = true;
  } else {
    Object.assign(wire, metricValueToWire(metric.datatype, metric.value, metric.name));
  }
  return wire;
}

function wireValue(value: WireValue): Wire {
  if ("longValue" in value) return { longValue: toLongBits(value.longValue) };
  return { ...value };
}

function metricValueToWire(datatype: DataType, value: MetricValue | TemplateInput, name?: string): Wire {
  if (datatype === DataType.Bytes || datatype === DataType.File) {
    return { bytesValue: expect(value instanceof Uint8Array, value, datatype, name) };
  }
  if (isArrayType(datatype)) {
    return {
      bytesValue: packArray(datatype, expect(Array.isArray(value), value, datatype, name) as unknown[]),
    };
  }
  if (datatype === DataType.DataSet) {
    return {
      datasetValue: dataSetToWire(expect(isKind(value, "DataSet"), value, datatype, name) as DataSetValue),
    };
  }
  if (datatype === DataType.Template) {
    return {
      templateValue: templateToWire(
        expect(isKind(value, "Template"), value, datatype, name) as TemplateInput,
      ),
    };
  }
  return scalarToWire(datatype, value as ScalarValue, name);
}

function isKind(value: unknown, kind: string): boolean {
  return typeof value === "object" && value !== null && (value as { kind?: string }).kind === kind;
}

function expect<T>(ok: boolean, value: T, datatype: DataType, name?: string): T {
  if (!ok) throw new TypeError(`${describe(name)}: value ${String(value)} does not fit datatype ${datatype}`);
  return value;
}

function describe(name?: string): string {
  return name === undefined ? "metric" : `metric ${JSON.stringify(name)}`;
}

/** The oneof field for a basic-type scalar (shared by metrics, cells, parameters, properties). */
function scalarToWire(datatype: number, value: ScalarValue, name?: string): Wire {
  if (value === null) return {};
  if (isInt32Family(datatype)) {
    return { intValue: Number(BigInt.asUintN(32, BigInt(checkInteger(value, datatype, name)))) };
  }
  if (isInt64Family(datatype)) return { longValue: toLongBits(BigInt(checkInteger(value, datatype, name))) };
  switch (datatype) {
    case DataType.Float:
      return { floatValue: Number(value) };
    case DataType.Double:
      return { doubleValue: Number(value) };
    case DataType.Boolean:
      return { booleanValue: Boolean(value) };
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return { stringValue: String(value) };
    default:
      throw new TypeError(`${describe(name)}: datatype ${datatype} is not a basic type`);
  }
}

function checkInteger(value: ScalarValue, datatype: number, name?: string): bigint | number {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new TypeError(`${describe(name)}: ${String(value)} is not an integer for datatype ${datatype}`);
}

function dataSetToWire(dataSet: DataSetValue): Wire {
  return {
    numOfColumns: toLongBits(dataSet.columns.length),
    columns: dataSet.columns,
    types: dataSet.types,
    rows: dataSet.rows.map((row) => ({
      elements: row.map((cell, c) => scalarToWire(dataSet.types[c] ?? DataType.Unknown, cell)),
    })),
  };
}

function templateToWire(template: TemplateInput): Wire {
  const wire: Wire = {
    isDefinition: template.isDefinition,
    metrics: template.metrics.map(metricToWire),
    parameters: (template.parameters ?? []).map((p) => ({
      name: p.name,
      type: p.type,
      ...scalarToWire(p.type, p.value),
    })),
  };
  if (template.templateRef !== undefined) wire.templateRef = template.templateRef;
  if (template.version !== undefined) wire.version = template.version;
  return wire;
}

function propertySetToWire(set: PropertySet): Wire {
  return {
    keys: [...set.keys()],
    values: [...set.values()].map(propertyValueToWire),
  };
}

function propertyValueToWire(property: PropertyValue): Wire {
  const wire: Wire = { type: property.type };
  const value = property.value;
  if (value === null) {
    wire.isNull = true;
  } else if (property.type === DataType.PropertySet) {
    wire.propertysetValue = propertySetToWire(value as PropertySet);
  } else if (property.type === DataType.PropertySetList) {
    wire.propertysetsValue = { propertyset: (value as readonly PropertySet[]).map(propertySetToWire) };
  } else {
    Object.assign(wire, scalarToWire(property.type, value as ScalarValue));
  }
  return wire;
}

function metaDataToWire(meta: MetaData): Wire {
  const wire: Wire = { ...meta };
  if (meta.size !== undefined) wire.size = toLongBits(meta.size);
  if (meta.seq !== undefined) wire.seq = toLongBits(meta.seq);
  return wire;
}
