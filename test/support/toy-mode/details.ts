import { z } from "zod";
import type { ModeDetails } from "../../../src/discovery/details.js";

/* The toy mode's own discoveryDetails keys, as each real mode declares its own in its details.ts. */

export const toyKeys = { toy: z.object({ prefix: z.string().min(1) }).optional() };

export type ToyDiscoveryDetails = ModeDetails<"toy", { toy: { prefix: string } }>;
