import { z } from "zod";
import { topicFilterProblem } from "../../mqtt/topic-filter.js";
import type { ModeDetails, ModeDetailsParser } from "../details.js";
import { type PayloadFilter, payloadFilterKey } from "../payload-filter.js";

/*
 * Generic mode's part of discoveryDetails: `topics`, `deviceId` and `idleTimeoutSeconds` (design.md §4),
 * and `payloadRegexp`, an RE2 pattern a payload must contain to count (as the reference
 * handler's `messageRegexp`, which that handler parses but never applies).
 */

const topicFilter = z.string().superRefine((value, ctx) => {
  const problem = topicFilterProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** MQTT topic filters: generic's `topics`, which the reference handler's Configurations have too. */
export const topicFilters = z.array(topicFilter).optional();

const genericKeys = {
  topics: topicFilters,
  deviceId: z.string().min(1).optional(),
  idleTimeoutSeconds: z.number().positive().default(300),
  payloadRegexp: payloadFilterKey("payloadRegexp"),
};

interface GenericOwn {
  topics: string[];
  deviceId: string | undefined;
  idleTimeoutSeconds: number;
  payloadRegexp: PayloadFilter | undefined;
}

/** Generic discovery: a device per topic (or per id a template extracts), while it publishes. */
export type GenericDiscoveryDetails = ModeDetails<"generic", GenericOwn>;

export const genericDetails: ModeDetailsParser<typeof genericKeys, GenericOwn> = {
  keys: () => genericKeys,
  // Topics alone mean generic discovery: the seed example is serverUrls and topics.
  impliedBy: "topics",
  own: ({ topics, deviceId, idleTimeoutSeconds, payloadRegexp }) => {
    if (topics === undefined || topics.length === 0)
      return { ok: false, error: "topics: required in generic mode (expected a list of MQTT topic filters)" };
    const problem = deviceId === undefined ? undefined : deviceIdTemplateProblem(deviceId);
    if (problem) return { ok: false, error: `deviceId: ${problem}` };
    return { ok: true, value: { topics, deviceId, idleTimeoutSeconds, payloadRegexp } };
  },
};

/** Why a deviceId template such as "robots/{robot}/joints" is invalid, or undefined. */
function deviceIdTemplateProblem(template: string): string | undefined {
  const levels = template.split("/");
  const names = new Set<string>();
  for (const [i, level] of levels.entries()) {
    if (level === "#") {
      if (i !== levels.length - 1) return `"#" must be the last level of ${JSON.stringify(template)}`;
      continue;
    }
    if (level === "+") continue;
    const placeholder = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(level);
    if (placeholder) {
      if (names.has(placeholder[1]!)) return `placeholder {${placeholder[1]}} is used twice`;
      names.add(placeholder[1]!);
      continue;
    }
    if (/[{}+#]/.test(level)) {
      return `level ${JSON.stringify(level)} must be a literal, "+", "#" or a whole {name} placeholder`;
    }
  }
  return undefined;
}
