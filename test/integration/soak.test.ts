import { describe, expect, it } from "vitest";
import { printSoak, runSoak } from "../../bench/soak.js";
import { mosquittoAvailable } from "../support/mosquitto.js";

/*
 * The soak (npm run soak: 30 minutes) in its short form: two minutes under CI, one
 * elsewhere (SOAK_TEST_SECONDS overrides). A churning plant through Mosquitto into
 * `akri-mqtt serve`: no empty or duplicated list, memory and handles flat after the
 * warm-up, and the final list equal to the plant's true state.
 */

const SECONDS = Number(process.env.SOAK_TEST_SECONDS ?? (process.env.CI === "true" ? 120 : 60));

describe.skipIf(!mosquittoAvailable())("soak (short)", () => {
  it(
    `a churning plant for ${SECONDS} s: no leak, no lost or ghost device`,
    async () => {
      const result = await runSoak({
        durationMs: SECONDS * 1000,
        nodes: 20,
        devicesPerNode: 10,
        warmupFraction: 0.25,
        sampleEveryMs: 2000,
        seed: 7,
      });
      printSoak(result);
      expect(result.handlerAlive).toBe(true);
      expect(result.finalMatches, `${result.finalDevices} listed, ${result.expectedDevices} expected`).toBe(
        true,
      );
      expect(result.emptyListsAfterBirth).toBe(0);
      expect(result.listsWithDuplicates).toBe(0);
      for (const kind of [
        "device death and rebirth",
        "node killed (Will), back later",
        "node stopped (NDEATH), back later",
        "node rebirth",
        "stale NDEATH of an earlier session",
        "handler's broker connection cut for 3 s",
      ])
        expect(result.churn[kind] ?? 0, kind).toBeGreaterThan(0);
      // What garbage collection cannot take back stays flat: a leak of even 100 bytes per
      // message (about 300 messages a second) would add 2 MiB a minute.
      expect(result.heapFloorGrowthBytes).toBeLessThan(4 * 1024 * 1024);
      expect(result.handlesMaxAfterWarmup).toBeLessThanOrEqual(result.handlesAfterWarmup + 6);
    },
    (SECONDS + 180) * 1000,
  );
});
