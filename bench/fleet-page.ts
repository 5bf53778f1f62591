/*
 * The fleet page at 11,000 entities (1,000 edge nodes of 10 devices each, 10,000 of them
 * listed; served in this process as the handler serves it): how long until the first rows
 * of the table and the whole overview (the counts, all 1,000 tiles of the map, the chart)
 * are on the screen of a headless Chromium, from the navigation's start. Baseline, in the
 * same browser and the same rounds: the page's HTML and /devices?all=true fetched and the
 * JSON parsed, nothing drawn (what no page can beat). Rounds alternate the two, each in a
 * fresh browser context (no cache); medians. Goal (issue 25): within 1.5 s.
 * Run: npm run bench:fleet-page
 */
import { chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../test/support/browser.js";
import { formatRatio, median, printTable, saveResults, sized } from "./lib/measure.js";
import { servedPlant } from "./lib/served-plant.js";

const NODES = sized("BENCH_FLEET_PAGE_NODES", 1_000, 20);
const ROUNDS = sized("BENCH_FLEET_PAGE_ROUNDS", 7, 1);
const GOAL_MS = 1500;

/**
 * Watches the page from its first script on (an init script: the CDP injects it, the page's
 * CSP does not apply) and notes when the rows and the whole overview are in the DOM, at the
 * next frame (what is drawn then is painted): Playwright's own waits poll at up to 1 s.
 */
const watchShown = (nodes: number) => `
  const shown = () =>
    document.querySelector("#rows tr") !== null &&
    document.querySelector("#count-rows tr.total") !== null &&
    document.querySelectorAll("#map button.tile").length >= ${nodes} &&
    document.querySelector('#chart [data-series="births"]') !== null;
  new MutationObserver((_, observer) => {
    if (!shown()) return;
    observer.disconnect();
    requestAnimationFrame(() => { window.shownAt = performance.now(); });
  }).observe(document, { childList: true, subtree: true });
`;

/** Milliseconds from the navigation's start (performance.timeOrigin) until the rows and the overview are drawn. */
async function pageShown(page: Page, url: string): Promise<{ shownAt: number; drawMs: number }> {
  await page.addInitScript({ content: watchShown(NODES) });
  await page.goto(`${url}/`, { waitUntil: "commit" });
  const handle = await page.waitForFunction(() => (globalThis as { shownAt?: number }).shownAt, undefined, {
    polling: 50,
    timeout: 30_000,
  });
  const shownAt = (await handle.jsonValue()) as number;
  // When the last byte of /devices?all=true arrived: the rest is the page's own work.
  const dataAt = await page.evaluate(() => {
    const entry = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/devices?all=true"));
    return (entry as { responseEnd?: number } | undefined)?.responseEnd ?? Number.NaN;
  });
  return { shownAt, drawMs: shownAt - dataAt };
}

/** Milliseconds to fetch the page's HTML and /devices?all=true and parse the JSON, in the page. */
async function dataOnly(page: Page, url: string): Promise<number> {
  // /healthz: the same origin, no page script and no CSP in the way of the timing script.
  await page.goto(`${url}/healthz`);
  return page.evaluate(async () => {
    const started = performance.now();
    await (await fetch("/")).text();
    const streams = (await (await fetch("/devices?all=true")).json()) as unknown[];
    if (streams.length !== 1) throw new Error("one stream expected");
    return performance.now() - started;
  });
}

async function main(): Promise<void> {
  const path = chromiumPath();
  if (path === undefined)
    throw new Error("Chromium is missing (apt-get install -y chromium, or CHROMIUM_PATH)");
  const { server } = await servedPlant(NODES);
  const url = `http://127.0.0.1:${server.port}`;
  const browser = await chromium.launch({ executablePath: path, args: CHROMIUM_ARGS, headless: true });
  const page: number[] = [];
  const draw: number[] = [];
  const baseline: number[] = [];
  try {
    const fresh = async <T>(measure: (p: Page, url: string) => Promise<T>): Promise<T> => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      try {
        return await measure(await context.newPage(), url);
      } finally {
        await context.close();
      }
    };
    await fresh(pageShown); // warm-up: the server's first /devices body is built here
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        const shown = await fresh(pageShown);
        page.push(shown.shownAt);
        draw.push(shown.drawMs);
        baseline.push(await fresh(dataOnly));
      } else {
        baseline.push(await fresh(dataOnly));
        const shown = await fresh(pageShown);
        page.push(shown.shownAt);
        draw.push(shown.drawMs);
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const figures = {
    entities: NODES * 11,
    pageShownMs: median(page),
    dataOnlyMs: median(baseline),
    drawAfterDataMs: median(draw),
    ratio: median(page) / median(baseline),
    goalMs: GOAL_MS,
  };
  printTable(
    [
      "entities",
      "rows + overview shown (median)",
      "of which drawing",
      "HTML + JSON only (median)",
      "ratio",
      "goal",
    ],
    [
      [
        figures.entities,
        `${figures.pageShownMs.toFixed(0)} ms`,
        `${figures.drawAfterDataMs.toFixed(0)} ms`,
        `${figures.dataOnlyMs.toFixed(0)} ms`,
        formatRatio(figures.ratio),
        `≤ ${GOAL_MS} ms`,
      ],
    ],
  );
  await saveResults("fleetPage", figures, [
    {
      benchmark: `fleet page, ${figures.entities} entities: first rows + overview`,
      ours: `${figures.pageShownMs.toFixed(0)} ms`,
      baseline: `${figures.dataOnlyMs.toFixed(0)} ms (HTML + JSON only)`,
      ratio: formatRatio(figures.ratio),
      goal: `≤ ${GOAL_MS} ms`,
    },
  ]);
}

await main();
