/*
 * The fleet page's poll: GET /devices?all=true through the handler's own HTTP server and
 * DiscoverService at 11,000 entities (1,000 edge nodes of 10 devices each, 20 birth metrics
 * and 2 mapped properties per device; `discover: devices`, so the 1,000 nodes are seen but
 * not listed, each with its reason), polled by another process as a browser would. Per
 * poll, median of POLLS: the handler's CPU time (its event loop's: discovery waits that
 * long), and the time until the page has read the whole body; while nothing changes between
 * polls (a page left open on a quiet plant), and with a node reborn before every poll.
 * Run: npm run bench:inventory
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { median, printTable, saveResults, sized } from "./lib/measure.js";
import { servedPlant } from "./lib/served-plant.js";

const NODES = sized("BENCH_INVENTORY_NODES", 1_000, 20);
const POLLS = sized("BENCH_INVENTORY_POLLS", 21, 3);

/** The page: polls when told (a line on stdin), answers "<bytes> <entities>". */
const CLIENT = `
const url = process.argv[1];
require("node:readline").createInterface({ input: process.stdin }).on("line", async () => {
  const text = await (await fetch(url)).text();
  const streams = JSON.parse(text);
  const entities = streams.reduce((n, s) => n + s.devices.length + s.unlisted.length, 0);
  process.stdout.write(text.length + " " + entities + "\\n");
});
`;

async function main(): Promise<void> {
  const { server, births, settle } = await servedPlant(NODES);
  // The page is another process (a browser): this one's CPU time during a poll is the handler's.
  const client = spawn(process.execPath, ["-e", CLIENT, `http://127.0.0.1:${server.port}/devices?all=true`], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const replies = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
  const poll = async (): Promise<{ cpuMs: number; ms: number; bytes: number; entities: number }> => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    client.stdin!.write("poll\n");
    const reply = await replies.next();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const [bytes, entities] = String(reply.value).split(" ").map(Number);
    return { cpuMs: (used.user + used.system) / 1000, ms, bytes: bytes!, entities: entities! };
  };

  const first = await poll();
  const quiet: { cpuMs: number; ms: number }[] = [];
  for (let i = 0; i < POLLS; i++) quiet.push(await poll());
  const changing: { cpuMs: number; ms: number }[] = [];
  for (let i = 0; i < POLLS; i++) {
    births(i % NODES);
    settle();
    changing.push(await poll());
  }
  client.kill();
  await server.stop();

  const figures = {
    entities: first.entities,
    bodyBytes: first.bytes,
    quietCpuMs: median(quiet.map((p) => p.cpuMs)),
    quietMs: median(quiet.map((p) => p.ms)),
    changingCpuMs: median(changing.map((p) => p.cpuMs)),
    changingMs: median(changing.map((p) => p.ms)),
  };
  printTable(
    ["entities", "body", "poll", "handler CPU (median)", "until read (median)"],
    [
      [
        figures.entities,
        `${(figures.bodyBytes / 1e6).toFixed(1)} MB`,
        "nothing changed",
        `${figures.quietCpuMs.toFixed(1)} ms`,
        `${figures.quietMs.toFixed(1)} ms`,
      ],
      [
        "",
        "",
        "a node reborn before each",
        `${figures.changingCpuMs.toFixed(1)} ms`,
        `${figures.changingMs.toFixed(1)} ms`,
      ],
    ],
  );
  await saveResults("inventory", figures);
}

await main();
