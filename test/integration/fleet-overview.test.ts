import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import mqtt from "mqtt";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestAgent } from "../support/akri-agent.js";
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath } from "../support/browser.js";
import { CliProcess, ROOT } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { freePort, Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { plantBirths, plantNodes } from "../support/plant-births.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * The fleet page's overview (issue 25), in a headless Chromium: the counts by status per group
 * and in total are those of /devices?all=true; a killed edge node's tile turns offline while
 * its devices are still listed (within offlineGraceSeconds); a click on a tile or a count
 * narrows the table to the rows the table's own filter selects; the chart counts the death.
 * On the demo (npm start) and on a 1,000-node × 10-device plant through Mosquitto. The test
 * saves a screenshot of each in test-results/.
 */

interface StreamJson {
  stream: number;
  devices: { id: string; status: string }[];
  unlisted: { id: string; status: string; reason: { code: string } }[];
}

type Counts = Record<string, number>;

/** The group of a Sparkplug id (spBv1.0/<group>/…). */
const groupOf = (id: string) => id.split("/")[1]!;

/**
 * What the counts table must say, per group ("" for all groups), worked out from
 * /devices?all=true. Each entity counts once: an id that the list holds and that is also
 * explained as not listed (an instance-hash collision: Akri keeps one instance for both)
 * counts as not listed.
 */
function expectedCounts(stream: StreamJson): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  const bump = (id: string, key: string) => {
    for (const group of [groupOf(id), ""]) {
      const counts = out[group] ?? {};
      counts[key] = (counts[key] ?? 0) + 1;
      out[group] = counts;
    }
  };
  const unlisted = new Set(stream.unlisted.map((u) => u.id));
  for (const d of stream.devices)
    if (!unlisted.has(d.id)) {
      bump(d.id, "all");
      bump(d.id, d.status);
    }
  for (const u of stream.unlisted) {
    bump(u.id, "all");
    bump(u.id, "unlisted");
    bump(u.id, `reason:${u.reason.code}`);
  }
  return out;
}

/** What the counts table says: each row's (data-group) numbers by the filter each one sets. */
async function shownCounts(page: Page): Promise<Record<string, Counts>> {
  const rows = await page.locator("#count-rows tr").evaluateAll((trs) =>
    trs.map((tr) => {
      const row = tr as unknown as {
        dataset: { group: string };
        querySelectorAll(s: string): { dataset: { show: string; reason?: string }; textContent: string }[];
      };
      const counts: Record<string, number> = {};
      for (const b of row.querySelectorAll("button.count"))
        counts[b.dataset.show] = Number(b.dataset.reason ? b.textContent.split(" ").at(-1) : b.textContent);
      return [row.dataset.group, counts] as const;
    }),
  );
  // Zeros are shown (a count of 0 is a fact); /devices has no entry for them.
  return Object.fromEntries(
    rows.map(([group, counts]) => [
      group,
      Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    ]),
  );
}

async function openPage(browser: Browser, url: string, blocked: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // Offline: anything but the handler itself would be a CDN the plant cannot reach.
  await page.route("**/*", (route) => {
    const target = route.request().url();
    if (target.startsWith(url)) return route.continue();
    blocked.push(target);
    return route.abort();
  });
  page.on("pageerror", (e) => blocked.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") blocked.push(`console: ${m.text()}`);
  });
  const response = await page.goto(`${url}/`);
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
  return page;
}

const rowIds = (page: Page) =>
  page
    .locator("#rows tr[data-id]")
    .evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { id: string } }).dataset.id));
const deathsCharted = async (page: Page) =>
  Number((await page.locator('#chart [data-series="deaths"]').getAttribute("data-total")) ?? "NaN");

/**
 * Clicks a tile: the table shows that node's entities, and only them. `entities` is asked
 * again while waiting: in the living demo a node may connect (its devices appear) meanwhile.
 */
async function clickTile(page: Page, node: string, entities: () => Promise<number>): Promise<void> {
  await page.locator(`#map button[data-node="${node}"]`).click();
  let expected = Number.NaN;
  await eventually(async () => {
    expected = await entities();
    return (await page.locator("#range").textContent())?.endsWith(` of ${expected}`) === true;
  }, `the table narrowed to ${node}`);
  const ids = await rowIds(page);
  expect(ids).toHaveLength(
    Number(/ of (\d+)$/.exec((await page.locator("#range").textContent()) ?? "")?.[1]),
  );
  for (const id of ids) expect(id === node || id.startsWith(`${node}/`), id).toBe(true);
  expect(await page.locator(`#map button[data-node="${node}"]`).getAttribute("aria-pressed")).toBe("true");
  expect(await page.locator("#scope-text").textContent()).toBe(`edge node ${node}`);
}

/** A count's click and the table's own filter select the same rows. */
async function sameRowsAsFilter(page: Page, show: string, expected: number): Promise<void> {
  await page.locator(`#count-rows tr[data-group=""] button[data-show="${show}"]`).click();
  const range = async () => (await page.locator("#range").textContent()) ?? "";
  expect(await range()).toMatch(expected === 0 ? /nothing matches/ : new RegExp(` of ${expected}$`));
  const byCount = await rowIds(page);
  await page.selectOption("#show", "all");
  await page.selectOption("#show", show);
  expect(await rowIds(page)).toStrictEqual(byCount);
}

describe.skipIf(!chromiumAvailable())("the fleet overview on the demo (npm start)", () => {
  let demo: CliProcess;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    demo = new CliProcess(["demo", "--json", "--http-port", String(port)]);
    browser = await chromium.launch({ executablePath: chromiumPath()!, args: CHROMIUM_ARGS, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("counts what /devices?all=true says, maps the nodes, charts the deaths, and a tile narrows the table", async () => {
    await eventually(
      async () => (await fetch(`${url}/devices`).catch(() => undefined))?.ok === true,
      "the demo's fleet page",
      15_000,
    );
    const blocked: string[] = [];
    const page = await openPage(browser, url, blocked);
    // The plant moves all the time: the page's counts are checked against the very body it read.
    let lastBody = "";
    page.on("response", async (r) => {
      if (r.url().endsWith("/devices?all=true")) lastBody = await r.text().catch(() => lastBody);
    });
    await page.locator("#rows tr").first().waitFor({ timeout: 15_000 });
    // Once the plant has been seen whole (its births come in the first seconds).
    let body: StreamJson | undefined;
    await eventually(
      async () => {
        if (!lastBody) return false;
        body = (JSON.parse(lastBody) as StreamJson[])[0]!;
        return body.devices.length >= 200 && isDeepStrictEqual(await shownCounts(page), expectedCounts(body));
      },
      "the counts of the body the page read, with the plant's devices listed",
      30_000,
    );
    // Every group of the body on the map, and every edge node a tile.
    const ids = [...body!.devices, ...body!.unlisted].map((e) => e.id);
    expect(await page.locator("#map section.group").count()).toBe(new Set(ids.map(groupOf)).size);
    expect(await page.locator("#map button.tile").count()).toBe(
      new Set(ids.map((id) => id.split("/").slice(0, 3).join("/"))).size,
    );
    // The demo's plant lives: devices and nodes die and return; the chart counts the deaths.
    await eventually(async () => (await deathsCharted(page)) > 0, "a death in the chart", 60_000);
    const activity = JSON.parse(await (await fetch(`${url}/activity`)).text()) as { deaths: number[] }[];
    expect(activity[0]!.deaths.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(await deathsCharted(page));
    // The demo stops or kills a node now and then: its tile turns offline while the handler
    // says so too (its outage lasts 6–12 s, its devices stay listed within the grace).
    const offlineTile = page.locator("#map button.tile.offline");
    await eventually(async () => (await offlineTile.count()) > 0, "a node's tile offline", 60_000);
    const downNode = await offlineTile.first().getAttribute("data-node");
    const down = (JSON.parse(await (await fetch(`${url}/devices?all=true`)).text()) as StreamJson[])[0]!;
    expect([...down.devices, ...down.unlisted].find((e) => e.id === downNode)?.status).toBe("offline");
    // The map is one stop of the Tab key; the arrow keys move between its tiles, Enter picks one.
    expect(await page.locator('#map button.tile[tabindex="0"]').count()).toBe(1);
    await page.focus('#map button.tile[tabindex="0"]');
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Enter");
    expect(await page.locator("#scope-text").textContent()).toBe("edge node spBv1.0/Plant-A/Edge-02");
    const node = "spBv1.0/Plant-B/Edge-03";
    // Counted from the server while waiting: the demo may be connecting this very node.
    const entities = async () => {
      const now = JSON.parse(await (await fetch(`${url}/devices?all=true`)).text()) as StreamJson[];
      const all = [...now[0]!.devices, ...now[0]!.unlisted].map((e) => e.id);
      return new Set(all.filter((id) => id === node || id.startsWith(`${node}/`))).size;
    };
    await clickTile(page, node, entities);
    await page.screenshot({ path: join(ROOT, "test-results", "fleet-overview-demo.png"), fullPage: true });
    expect(blocked).toStrictEqual([]);
  }, 120_000);
});

const level: TahuMetric[] = [{ name: "Level", alias: 1, type: "Double", value: 0 }];

describe.skipIf(!mosquittoAvailable() || !chromiumAvailable())(
  "the fleet overview on a 1,000-node × 10-device plant through Mosquitto",
  () => {
    let broker: Mosquitto;
    let handler: HandlerProcess;
    let agent: TestAgent;
    let browser: Browser;
    let killed: TahuEdgeNode | undefined;
    let publisher: mqtt.MqttClient | undefined;

    beforeAll(async () => {
      broker = await Mosquitto.start();
      const directory = await mkdtemp(join(tmpdir(), "akri-overview-"));
      handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-o" });
      agent = new TestAgent(directory);
      await agent.start();
      await agent.waitForRegistrations(1);
      browser = await chromium.launch({
        executablePath: chromiumPath()!,
        args: CHROMIUM_ARGS,
        headless: true,
      });
    });

    afterAll(async () => {
      await browser?.close();
      await killed?.stop().catch(() => undefined);
      await publisher?.endAsync().catch(() => undefined);
      await handler?.stop();
      await agent?.stop();
      await broker?.stop();
    });

    it("counts 11,000 entities as /devices?all=true does; a killed node's tile turns offline within the grace, narrows the table, and the chart shows the death", async () => {
      const call = agent.discover(
        agent.registrations[0]!,
        `serverUrls: [${broker.url}]\nconfigurationName: akri-overview\nofflineGraceSeconds: 60\n`,
      );
      await eventually(() => call.lists.length >= 1, "a first list");
      // 999 edge nodes' births from one publisher; the last node is a Tahu edge node, to be killed.
      const nodes = plantNodes(1000);
      publisher = await mqtt.connectAsync(broker.url, { clientId: "overview-plant", reconnectPeriod: 0 });
      for (const p of plantBirths(nodes.slice(0, 999), 10, Date.now()))
        publisher.publish(p.topic, Buffer.from(p.payload), { qos: 0 });
      const [group, edge] = nodes[999]!;
      const node = `spBv1.0/${group}/${edge}`;
      killed = await TahuEdgeNode.start({
        url: broker.url,
        group,
        edge,
        devices: Object.fromEntries(
          Array.from({ length: 10 }, (_, d) => [`Device${String(d).padStart(2, "0")}`, level]),
        ),
      });
      const inventory = async () =>
        (JSON.parse((await handler.get("/devices?all=true")).body) as StreamJson[])[0]!;
      await eventually(
        async () => (await inventory()).devices.length === 10_000,
        "10,000 devices listed",
        60_000,
      );

      const blocked: string[] = [];
      const page = await openPage(browser, handler.url, blocked);
      await page.locator("#rows tr").first().waitFor({ timeout: 15_000 });
      const quiet = await inventory();
      // The edge nodes (discover: devices), and a few devices whose Akri instance hash (24 bits)
      // is another's: Akri keeps one instance for both.
      const reasons = new Set(
        quiet.unlisted.map((u) => `${u.id.split("/").length === 3 ? "node" : "device"} ${u.reason.code}`),
      );
      expect([...reasons].sort()).toStrictEqual([
        "device instance-hash-collision",
        "node not-discovered-kind",
      ]);
      const collisions = quiet.unlisted.length - 1000;
      await eventually(
        async () => isDeepStrictEqual(await shownCounts(page), expectedCounts(quiet)),
        "the counts of /devices?all=true",
        15_000,
      );
      expect(await page.locator("#map button.tile").count()).toBe(1000);
      expect(await page.locator("#map button.tile.online").count()).toBe(1000);
      expect(await deathsCharted(page)).toBe(0);
      await sameRowsAsFilter(page, "unlisted", 1000 + collisions);

      await killed.kill();
      const tile = page.locator(`#map button[data-node="${node}"]`);
      await eventually(
        async () => (await tile.getAttribute("class"))?.split(" ").includes("offline") === true,
        "the tile offline",
        30_000,
      );
      // Within the grace: its devices are still listed (offline), not yet left out.
      const dead = await inventory();
      const listedOfNode = dead.devices.filter((d) => d.id.startsWith(`${node}/`));
      expect(listedOfNode).toHaveLength(10);
      for (const d of listedOfNode) expect(d.status).toBe("offline");
      expect(await page.locator("#map button.tile.online").count()).toBe(999);
      await eventually(
        async () => isDeepStrictEqual(await shownCounts(page), expectedCounts(await inventory())),
        "the counts with the node dead",
        10_000,
      );
      expect((await shownCounts(page))[""]!.offline).toBe(10);
      await sameRowsAsFilter(page, "offline", 10);
      // The chart: the node's death and its devices'.
      await eventually(async () => (await deathsCharted(page)) >= 1, "the death in the chart", 10_000);
      await clickTile(page, node, async () => 11);
      await page.screenshot({ path: join(ROOT, "test-results", "fleet-overview-plant.png"), fullPage: true });
      // The dark theme (prefers-color-scheme), to look at its contrast.
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({
        path: join(ROOT, "test-results", "fleet-overview-plant-dark.png"),
        fullPage: true,
      });
      expect(blocked).toStrictEqual([]);
    }, 150_000);
  },
);
