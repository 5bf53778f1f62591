import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestAgent } from "../support/akri-agent.js";
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath } from "../support/browser.js";
import { CliProcess, jsonLines, ROOT } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment, MonitorProcess } from "../support/monitor-process.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * "Why is my device not listed?": akri-mqtt serve with a test agent, Tahu edge nodes in a
 * real Mosquitto, and a Configuration that leaves some of the plant out on purpose. The
 * same reasons come from /devices?all=true, `discover --explain` and the fleet page at /
 * (driven in a headless Chromium); the Grafana dashboard queries only metrics that exist.
 */

const motor: TahuMetric[] = [
  { name: "Speed", alias: 1, type: "Double", value: 1 },
  { name: "Properties/Model", alias: 2, type: "String", value: "M-9" },
];
const pump: TahuMetric[] = [
  { name: "Flow", alias: 1, type: "Double", value: 2 },
  { name: "Properties/Model", alias: 2, type: "String", value: "P-1" },
];

interface Unlisted {
  id: string;
  kind: string;
  status: string;
  reason: { code: string; message: string };
}

describe.skipIf(!mosquittoAvailable())("the fleet page and the reasons a device is not listed", () => {
  let broker: Mosquitto;
  let directory: string;
  let handler: HandlerProcess;
  let agent: TestAgent;
  const nodes: TahuEdgeNode[] = [];
  const details = () => `serverUrls: [${broker.url}]
configurationName: akri-fleet
offlineGraceSeconds: 2
sparkplug:
  groupIds: {action: Exclude, items: [Other]}
  deviceIds: {action: Exclude, items: [Spare]}
  birthMetrics: [{name: Properties/Model, equals: M-9}]
`;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    directory = await mkdtemp(join(tmpdir(), "akri-fleet-"));
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-f" });
    agent = new TestAgent(directory);
    await agent.start();
    await agent.waitForRegistrations(1);
  });

  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await handler?.stop();
    await agent?.stop();
    await broker?.stop();
  });

  const unlisted = async (): Promise<Unlisted[]> => {
    const streams = JSON.parse((await handler.get("/devices?all=true")).body) as { unlisted: Unlisted[] }[];
    return streams.flatMap((s) => s.unlisted);
  };

  it("says why each seen entity is not listed: filter, selector, kind, death", async () => {
    const call = agent.discover(agent.registrations[0]!, details());
    await eventually(() => call.lists.length >= 1, "a first list");
    for (const [edge, devices] of [
      ["Line1", { Motor: motor, Spare: motor, Pump: pump }],
      ["Line2", { Motor: motor }],
    ] as const) {
      const node = await TahuEdgeNode.start({ url: broker.url, group: "Fleet", edge, devices });
      nodes.push(node);
    }
    const other = await TahuEdgeNode.start({
      url: broker.url,
      group: "Other",
      edge: "X",
      devices: { Motor: motor },
    });
    nodes.push(other);
    await call.waitForIds(["spBv1.0/Fleet/Line1/Motor", "spBv1.0/Fleet/Line2/Motor"], "the two motors");
    await eventually(
      async () => (await unlisted()).some((u) => u.id === "spBv1.0/Other/X/Motor"),
      "Other seen",
    );
    const reasons = Object.fromEntries((await unlisted()).map((u) => [u.id, u]));
    expect(reasons["spBv1.0/Fleet/Line1/Spare"]).toStrictEqual({
      id: "spBv1.0/Fleet/Line1/Spare",
      kind: "sparkplug-device",
      status: "online",
      reason: { code: "excluded-by-filter", message: 'deviceIds Exclude lists "Spare"' },
      facts: expect.objectContaining({ bdSeq: 0, seqGaps: 0 }),
    });
    expect(reasons["spBv1.0/Fleet/Line1/Pump"]?.reason).toStrictEqual({
      code: "birth-metrics-mismatch",
      message: 'birthMetrics: "Properties/Model" is "P-1", not "M-9"',
    });
    expect(reasons["spBv1.0/Other/X/Motor"]?.reason).toStrictEqual({
      code: "excluded-by-filter",
      message: 'groupIds Exclude lists "Other"',
    });
    // Edge nodes are not what this Configuration discovers (the default: devices).
    expect(reasons["spBv1.0/Fleet/Line1"]?.reason).toStrictEqual({
      code: "not-discovered-kind",
      message: "discover: devices lists devices, not edge nodes",
    });
    // Each entity carries its node's facts: birth, bdSeq, gaps, rebirth requests.
    const streams = JSON.parse((await handler.get("/devices?all=true")).body) as {
      devices: { id: string; facts: Record<string, unknown> }[];
    }[];
    expect(streams[0]?.devices.find((d) => d.id === "spBv1.0/Fleet/Line1/Motor")?.facts).toMatchObject({
      bornAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      nodeBornAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      bdSeq: 0,
      seqGaps: 0,
      rebirthRequests: 0,
    });
    // Plain /devices is unchanged: no unlisted key.
    expect(JSON.parse((await handler.get("/devices")).body)[0]).not.toHaveProperty("unlisted");

    // A node killed: its motor dies, stays listed through the grace, then is offline and unlisted.
    await nodes[1]!.kill();
    await call.waitForIds(["spBv1.0/Fleet/Line1/Motor"], "Line2's motor after the grace");
    const dead = (await unlisted()).find((u) => u.id === "spBv1.0/Fleet/Line2/Motor");
    expect(dead).toMatchObject({ status: "offline", reason: { code: "offline" } });
    expect(dead?.reason.message).toContain("offlineGraceSeconds (2 s)");
  }, 60_000);

  it("discover --explain prints the same reasons, in JSON and as a table", async () => {
    const file = join(directory, "details.yaml");
    await writeFile(file, details());
    const json = new CliProcess(["discover", "--details", file, "--explain", "--json"]);
    const table = new CliProcess(["discover", "--details", file, "--explain"]);
    try {
      // Started once both discovers are subscribed (their first list is out): they see its births.
      await eventually(() => json.stdout !== "" && table.stdout !== "", "both first lists", 15_000);
      const line = await TahuEdgeNode.start({
        url: broker.url,
        group: "Fleet",
        edge: "Line3",
        devices: { Motor: motor, Spare: motor },
      });
      nodes.push(line);
      const explained = () =>
        jsonLines(json.stdout).map(
          (l) => l as unknown as { devices: { id: string }[]; unlisted: Unlisted[] },
        );
      await eventually(
        () => explained().some((l) => l.unlisted.some((u) => u.id === "spBv1.0/Fleet/Line3/Spare")),
        "Line3's Spare explained",
        15_000,
      );
      const list = explained().at(-1)!;
      expect(list.devices.map((d) => d.id)).toContain("spBv1.0/Fleet/Line3/Motor");
      expect(list.unlisted.find((u) => u.id === "spBv1.0/Fleet/Line3/Spare")).toStrictEqual({
        id: "spBv1.0/Fleet/Line3/Spare",
        kind: "sparkplug-device",
        status: "online",
        reason: { code: "excluded-by-filter", message: 'deviceIds Exclude lists "Spare"' },
      });
      await eventually(() => table.stdout.includes("Line3/Spare"), "the table", 15_000);
      expect(table.stdout).toMatch(/seen but not listed: \d+/);
      expect(table.stdout).toMatch(
        /spBv1\.0\/Fleet\/Line3\/Spare\s+device\s+online\s+excluded-by-filter\s+deviceIds Exclude lists "Spare"/,
      );
    } finally {
      await json.stop();
      await table.stop();
    }
  }, 60_000);

  it.skipIf(!chromiumAvailable())(
    "the page shows the fleet live: devices, a death, the reason for an excluded device, the feed (headless Chromium)",
    async () => {
      const browser = await chromium.launch({
        executablePath: chromiumPath()!,
        args: CHROMIUM_ARGS,
        headless: true,
      });
      const blocked: string[] = [];
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        // Offline: anything but the handler itself would be a CDN the plant cannot reach.
        await page.route("**/*", (route) => {
          const url = route.request().url();
          if (url.startsWith(handler.url)) return route.continue();
          blocked.push(url);
          return route.abort();
        });
        page.on("pageerror", (e) => blocked.push(`page error: ${e.message}`));
        const response = await page.goto(`${handler.url}/`);
        expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
        const row = (id: string) => page.locator(`tr[data-id="${id}"]`);
        await row("spBv1.0/Fleet/Line1/Motor").waitFor({ timeout: 10_000 });
        expect(await row("spBv1.0/Fleet/Line1/Motor").locator("td").nth(3).textContent()).toBe("yes");
        // One line per entity: its details fold open under it (facts under the labels people
        // read, not their JSON names: seqGaps).
        const more = (id: string) => page.locator(`tr.more[data-for="${id}"] td.details`);
        expect(await page.locator("tr.more").count()).toBe(0);
        await row("spBv1.0/Fleet/Line1/Motor").locator("button.expand").click();
        const motorDetails = await more("spBv1.0/Fleet/Line1/Motor").textContent();
        expect(motorDetails).toContain("bdSeq: 0");
        expect(motorDetails).toContain("seq gaps: 0");
        expect(motorDetails).toContain("rebirth requests: 0");
        // The kind as its mode labels it (the terminal table's word), and no standard property
        // shown as if it were a mapped one.
        expect(await row("spBv1.0/Fleet/Line1/Motor").locator("td").nth(1).textContent()).toBe("device");
        expect(motorDetails).not.toMatch(/MQTT_BROKER_URI|SPARKPLUG_/);
        // The excluded device: not listed, with the filter named (on the line's hover, and in its details).
        const spare = row("spBv1.0/Fleet/Line1/Spare");
        expect(await spare.locator("td").nth(3).textContent()).toBe("no: excluded-by-filter");
        expect(await spare.locator("td").nth(3).getAttribute("title")).toBe(
          'deviceIds Exclude lists "Spare"',
        );
        await spare.locator("button.expand").click();
        expect(await more("spBv1.0/Fleet/Line1/Spare").textContent()).toContain(
          'why not listed: deviceIds Exclude lists "Spare"',
        );
        // Kill Line1: its motor turns offline (listed during the grace), then leaves the listed view.
        await nodes[0]!.kill();
        // (Waits poll through locators: the page's CSP forbids the eval that waitForFunction needs.)
        const motorStatus = row("spBv1.0/Fleet/Line1/Motor").locator("td.status");
        await eventually(
          async () => (await motorStatus.textContent()) === "offline",
          "the motor offline",
          10_000,
        );
        await page.selectOption("#show", "listed");
        await eventually(
          async () => (await row("spBv1.0/Fleet/Line1/Motor").count()) === 0,
          "the motor gone",
          15_000,
        );
        await page.selectOption("#show", "all");
        // The feed shows the death, pushed over Server-Sent Events.
        const death = page.locator("#feed li", { hasText: "node-died" }).filter({ hasText: "Fleet/Line1" });
        await eventually(async () => (await death.count()) > 0, "the death in the feed", 10_000);
        // The search box narrows the table; the keyboard reaches it (Shift+Tab from the Show
        // selector beside it), and the pager's buttons are real buttons.
        await page.focus("#show");
        await page.keyboard.press("Shift+Tab");
        expect(
          await page
            .locator("#search")
            .evaluate(
              (el) =>
                (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument
                  .activeElement === el,
            ),
        ).toBe(true);
        expect(await page.locator("#next").evaluate((el) => el.tagName)).toBe("BUTTON");
        await page.keyboard.type("excluded-by-filter");
        await eventually(
          async () =>
            (await page.locator("#rows tr td.id").allTextContents()).includes("spBv1.0/Fleet/Line1/Spare"),
          "the search",
          5000,
        );
        const ids = await page.locator("#rows tr td.id").allTextContents();
        expect(ids).toContain("spBv1.0/Fleet/Line1/Spare");
        expect(ids).not.toContain("spBv1.0/Fleet/Line1/Motor");
        await page.fill("#search", "");
        await page.screenshot({ path: join(ROOT, "test-results", "fleet-page.png"), fullPage: true });
        expect(blocked).toStrictEqual([]);
      } finally {
        await browser.close();
      }
    },
    90_000,
  );

  it("the Grafana dashboard queries only metrics that the handler and the monitor export", async () => {
    const dashboard = JSON.parse(
      await readFile(join(ROOT, "deploy", "grafana", "akri-mqtt.json"), "utf8"),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const queried = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bakri_mqtt_[a-z_]+/g) ?? [])),
    );
    expect(queried.size).toBeGreaterThan(15);
    const monitor = await MonitorProcess.start(
      akriEnvironment("m1", {
        MQTT_BROKER_URI: broker.url,
        SPARKPLUG_GROUP_ID: "Fleet",
        SPARKPLUG_EDGE_NODE_ID: "Line1",
        SPARKPLUG_DEVICE_ID: "Motor",
        SPARKPLUG_DATA_TOPIC: "spBv1.0/Fleet/DDATA/Line1/Motor",
      }),
    );
    try {
      const exported = new Set<string>();
      for (const text of [
        (await handler.get("/metrics")).body,
        await (await fetch(`${monitor.url}/metrics`)).text(),
      ])
        for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) exported.add(name!);
      const missing = [...queried].filter((name) => !exported.has(name));
      expect(missing).toStrictEqual([]);
    } finally {
      await monitor.stop();
    }
  }, 60_000);
});
