import { dataTypeName } from "./datatype.js";
import {
  isDataSetValue,
  isTemplateValue,
  type MetaData,
  type Metric,
  type MetricValue,
  type PropertySet,
  type PropertyValue,
  type SparkplugPayload,
} from "./payload.js";

/*
 * The JSON view of decoded Sparkplug data, used wherever it is printed or served:
 * 64-bit integers as decimal strings (JSON numbers lose precision above 2^53), bytes as
 * base64, datatypes by name, PropertySets as objects.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A metric value as JSON. */
export function valueToJson(value: MetricValue | PropertyValue["value"]): Json {
  if (value === null) return null;
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
    case "string":
      return value;
  }
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (value instanceof Map) return propertySetToJson(value);
  if (Array.isArray(value)) return value.map((v) => valueToJson(v as MetricValue));
  if (isDataSetValue(value as MetricValue)) {
    const dataSet = value as Extract<MetricValue, { kind: "DataSet" }>;
    return {
      columns: dataSet.columns,
      types: dataSet.types.map(dataTypeName),
      rows: dataSet.rows.map((row) => row.map((cell) => valueToJson(cell))),
    };
  }
  if (isTemplateValue(value as MetricValue)) {
    const template = value as Extract<MetricValue, { kind: "Template" }>;
    const json: { [key: string]: Json } = { isDefinition: template.isDefinition };
    if (template.templateRef !== undefined) json.templateRef = template.templateRef;
    if (template.version !== undefined) json.version = template.version;
    json.parameters = template.parameters.map((p) => ({
      name: p.name,
      type: dataTypeName(p.type),
      value: valueToJson(p.value),
    }));
    json.metrics = template.metrics.map(metricToJson);
    return json;
  }
  return String(value);
}

function propertySetToJson(set: PropertySet): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  for (const [key, property] of set) {
    json[key] = { type: dataTypeName(property.type), value: valueToJson(property.value) };
  }
  return json;
}

function metaDataToJson(meta: MetaData): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(meta)) {
    if (value !== undefined) json[key] = typeof value === "bigint" ? value.toString() : (value as Json);
  }
  return json;
}

/** A metric as JSON: name, alias, datatype name, value, and its flags when set. */
export function metricToJson(metric: Metric): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  if (metric.name !== undefined) json.name = metric.name;
  if (metric.alias !== undefined)
    json.alias = typeof metric.alias === "bigint" ? metric.alias.toString() : metric.alias;
  json.datatype = dataTypeName(metric.datatype);
  json.value = valueToJson(metric.value);
  if (metric.timestamp !== undefined) json.timestamp = metric.timestamp;
  if (metric.isNull) json.isNull = true;
  if (metric.isHistorical) json.isHistorical = true;
  if (metric.isTransient) json.isTransient = true;
  if (metric.metadata !== undefined) json.metadata = metaDataToJson(metric.metadata);
  if (metric.properties !== undefined) json.properties = propertySetToJson(metric.properties);
  if (metric.problem !== undefined) json.problem = metric.problem;
  return json;
}

/** A payload's header fields as JSON (metrics separately). */
export function payloadHeaderToJson(payload: SparkplugPayload): { [key: string]: Json } {
  const json: { [key: string]: Json } = {};
  if (payload.timestamp !== undefined) json.timestamp = payload.timestamp;
  if (payload.seq !== undefined) json.seq = payload.seq;
  if (payload.uuid !== undefined) json.uuid = payload.uuid;
  if (payload.compressed) json.compressed = true;
  if (payload.body !== undefined) json.bodyBytes = payload.body.byteLength;
  return json;
}
