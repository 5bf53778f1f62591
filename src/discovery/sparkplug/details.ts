import { z } from "zod";
import { defaultRebirthOptions } from "../../sparkplug/host/options.js";
import type { ModeDetails, ModeDetailsParser } from "../details.js";

/* Sparkplug mode's part of discoveryDetails: the `sparkplug` key (design.md §4). */

const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

const filterList = z.object({
  action: z.enum(["Include", "Exclude"]).default("Include"),
  items: z.array(z.string()),
});

const sparkplugId = z.string().refine((s) => s !== "" && !/[/+#]/.test(s), {
  message: 'expected a non-empty id without "/", "+" or "#"',
});

const rebirth = defaultRebirthOptions;
const rebirthSchema = z.object({
  onUnknownNode: z.boolean().default(rebirth.onUnknownNode),
  onSeqGap: z.boolean().default(rebirth.onSeqGap),
  onUnknownMetric: z.boolean().default(rebirth.onUnknownMetric),
  reorderTimeoutMs: z.number().int().min(0).max(600_000).default(rebirth.reorderTimeoutMs),
  minIntervalPerNodeMs: z.number().int().min(0).default(rebirth.minIntervalPerNodeMs),
  maxPerSecond: z.number().min(0).default(rebirth.maxPerSecond),
  jitterMs: z.number().int().min(0).max(60_000).default(rebirth.jitterMs),
});

const selector = z.object({
  name: z.string().min(1),
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
});

/** Property mappings: names that can be environment variables and that discovery does not set itself. */
function propertiesSchema(reserved: ReadonlySet<string>) {
  return z
    .record(z.string(), z.string().min(1))
    .default({})
    .superRefine((record, ctx) => {
      for (const key of Object.keys(record)) {
        if (!ENV_KEY.test(key)) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "property names become environment variables: use upper-case letters, digits and _",
          });
        } else if (reserved.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `${key} is a standard property and cannot be mapped`,
          });
        }
      }
    });
}

/** `shard: {count, index}`: this Configuration lists one shard of the plant's edge nodes (shard.ts). */
const shardKeys = z.object({
  count: z.number().int().min(1),
  index: z.number().int().min(0),
});
const shardSchema = shardKeys.superRefine((shard, ctx) => {
  if (shard.index >= shard.count)
    ctx.addIssue({
      code: "custom",
      path: ["index"],
      message: `expected a whole number below count (${shard.count}), got ${shard.index}`,
    });
});

function sparkplugSchema(reserved: ReadonlySet<string>) {
  const schema = z.object({
    groupIds: filterList.optional(),
    edgeNodeIds: filterList.optional(),
    deviceIds: filterList.optional(),
    discover: z.enum(["devices", "nodes", "both"]).default("devices"),
    birthMetrics: z.array(selector).default([]),
    properties: propertiesSchema(reserved),
    hostId: sparkplugId.default("akri-mqtt"),
    publishState: z.boolean().default(true),
    rebirth: rebirthSchema.default(rebirthSchema.parse({})),
    useCertificates: z.boolean().default(true),
    shard: shardSchema.optional(),
  });
  return schema.default(schema.parse({}));
}

export type SparkplugDetails = z.infer<ReturnType<typeof sparkplugSchema>>;
export type BirthMetricSelector = z.infer<typeof selector>;

/** Sparkplug B discovery: born edge nodes and devices. */
export type SparkplugDiscoveryDetails = ModeDetails<"sparkplug", { sparkplug: SparkplugDetails }>;

const filterKeys = ["action", "items"];

export const sparkplugDetails: ModeDetailsParser<
  { sparkplug: ReturnType<typeof sparkplugSchema> },
  { sparkplug: SparkplugDetails }
> = {
  keys: (reserved) => ({ sparkplug: sparkplugSchema(reserved) }),
  known: {
    sparkplug: Object.keys(sparkplugSchema(new Set()).unwrap().shape),
    "sparkplug.rebirth": Object.keys(rebirthSchema.shape),
    "sparkplug.groupIds": filterKeys,
    "sparkplug.edgeNodeIds": filterKeys,
    "sparkplug.deviceIds": filterKeys,
    "sparkplug.shard": Object.keys(shardKeys.shape),
  },
  own: ({ sparkplug }) => ({ ok: true, value: { sparkplug } }),
};

/**
 * This process's Sparkplug host id: `sparkplug.hostId` and its suffix, so every replica of
 * the handler is a host of its own. Its STATE Will and its STATE birth must name the same host.
 */
export function hostIdOf(sparkplug: SparkplugDetails, suffix: string): string {
  return `${sparkplug.hostId}-${suffix}`;
}
