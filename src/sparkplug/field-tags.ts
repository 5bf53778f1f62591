import type protobuf from "protobufjs";
import { PayloadType } from "./proto.js";

/*
 * The field tables of the two messages our readers walk by hand: each field's tag (field
 * number << 3 | wire type) as it appears in the bytes, by the field's name in
 * proto/sparkplug_b.proto. Every reader of Payload or Metric bytes (payload-reader.ts,
 * quiet-data.ts) dispatches on these and no other numbers; each is checked against the
 * loaded .proto here, at start-up, so an edited .proto fails at once instead of misreading.
 */

/** Payload's fields: the header, and each top-level metric. */
export const PayloadTag = { timestamp: 8, metrics: 18, seq: 24, uuid: 34, body: 42 } as const;

/** Metric's fields: what it is, its flags, its nested messages and its value fields. */
export const MetricTag = {
  name: 10,
  alias: 16,
  timestamp: 24,
  datatype: 32,
  isHistorical: 40,
  isTransient: 48,
  isNull: 56,
  metadata: 66,
  properties: 74,
  intValue: 80,
  longValue: 88,
  floatValue: 101,
  doubleValue: 105,
  booleanValue: 112,
  stringValue: 122,
  bytesValue: 130,
  datasetValue: 138,
  templateValue: 146,
} as const;

/** The protobufjs type of `Metric` (its nested types are decoded by protobufjs). */
export const MetricType = PayloadType.lookupType("Metric");

function wireTypeOf(field: protobuf.Field): number {
  if (field.resolvedType !== null || field.type === "string" || field.type === "bytes") return 2;
  if (field.type === "float") return 5;
  if (field.type === "double") return 1;
  return 0;
}

function checkTags(type: protobuf.Type, tags: Record<string, number>): void {
  for (const [name, expected] of Object.entries(tags)) {
    const field = type.fields[name];
    if (!field) throw new Error(`proto/sparkplug_b.proto: ${type.name} has no field ${name}`);
    const tag = (field.id << 3) | wireTypeOf(field);
    if (tag !== expected)
      throw new Error(`proto/sparkplug_b.proto: ${type.name}.${name} has tag ${tag}, expected ${expected}`);
  }
}

checkTags(PayloadType, PayloadTag);
checkTags(MetricType, MetricTag);
