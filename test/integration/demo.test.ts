import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, CliProcess } from "../support/cli.js";
import { eventually } from "../support/live-host.js";
import { EventStreamReader } from "../support/monitor-process.js";

/*
 * `npm start` as a newcomer sees it, its clock sped up (AKRI_MQTT_DEMO_SPEED) so that three
 * minutes of the plant pass in some fifteen seconds. Piped, the demo logs each plant event
 * stamped with its own clock ("+2:59 …"): that is what the test waits on.
 */

const SPEED = 12;
const PLANT_DEVICES = 240;

/** The demo's clock, in seconds: the latest "+m:ss" stamp it printed. */
function demoSeconds(stdout: string): number {
  let latest = 0;
  for (const [, minutes, seconds] of stdout.matchAll(/^\+(\d+):(\d\d) /gm))
    latest = Math.max(latest, Number(minutes) * 60 + Number(seconds));
  return latest;
}

interface Inventory {
  devices: { id: string; instanceName: string }[];
}

interface FleetEvent {
  at: string;
  kind: string;
  subject: string | null;
}

describe("akri-mqtt demo (npm start)", () => {
  it("keeps at least 85% of its devices listed after three minutes, with births and deaths in the last one", async () => {
    // LOG_LEVEL=info: the demo's own startup logs too (it keeps them to warnings otherwise).
    const demo = new CliProcess(["demo", "--http-port", "0"], {
      AKRI_MQTT_DEMO_SPEED: String(SPEED),
      LOG_LEVEL: "info",
    });
    let feed: EventStreamReader | undefined;
    try {
      await eventually(() => /fleet page http:\/\/\S+/.test(demo.stdout), "the demo's title", 20_000);
      const page = /fleet page (http:\/\/\S+)/.exec(demo.stdout)![1]!;
      // What the fleet page's event list reads: every birth and death the handler saw.
      feed = new EventStreamReader(`${page}events`);
      await eventually(() => demoSeconds(demo.stdout) >= 180, "three minutes of the demo", 120_000);
      const end = Date.now();
      const [stream] = (await (await fetch(`${page}devices`)).json()) as Inventory[];
      const listed = stream!.devices.length;
      // The plant the README and the title promise: 3 groups × 8 edge nodes × 10 devices.
      expect(demo.stdout).toContain(`of ${PLANT_DEVICES} devices listed`);
      expect(listed / PLANT_DEVICES, `${listed} of ${PLANT_DEVICES} listed`).toBeGreaterThanOrEqual(0.85);

      const events = feed.events.map((e) => e.data as FleetEvent);
      const kinds = new Set(events.map((e) => e.kind));
      for (const kind of ["node-born", "node-died", "device-born", "device-died"])
        expect(kinds, `the plant's events: ${[...kinds].join(", ")}`).toContain(kind);
      // The last minute of the demo's clock, in the handler's (real) time.
      const lastMinute = events.filter((e) => Date.parse(e.at) >= end - 60_000 / SPEED);
      const births = lastMinute.filter((e) => e.kind === "node-born" || e.kind === "device-born");
      const deaths = lastMinute.filter((e) => e.kind === "node-died" || e.kind === "device-died");
      expect(births.length, "births in the last minute").toBeGreaterThan(0);
      expect(deaths.length, "deaths in the last minute").toBeGreaterThan(0);
      // A newcomer reads the same instance names in the terminal and on the page.
      expect(stream!.devices[0]!.instanceName).toMatch(/^akri-mqtt-demo-[0-9a-f]{6}$/);
      // The embedded broker was asked for what it speaks: no fallback to announce.
      expect(demo.stderr).not.toContain("falling back to MQTT 3.1.1");
    } finally {
      feed?.stop();
      await demo.stop();
    }
  }, 180_000);

  it("piped into a reader that stops early (| head -1), ends quietly with status 0", async () => {
    const shell = spawn(
      "bash",
      ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" demo --http-port 0 | head -1`],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LOG_LEVEL: "warn" },
      },
    );
    let stdout = "";
    let stderr = "";
    shell.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    shell.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    // pipefail: the status is the demo's own unless it is 0 (head's is 0 either way).
    const code = await new Promise<number | null>((resolve) => shell.on("exit", resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^akri-mqtt demo · fleet page http/);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|Error/);
  }, 60_000);
});
