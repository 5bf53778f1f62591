/*
 * Payload filter benchmark: a Configuration's messageRegexp runs on every payload from the
 * plant, so a pattern that makes a backtracking engine explode must not slow the handler.
 * The reference handler's drop-in (issue 26) is fed the same messages in this process, in
 * alternating rounds, with `(a+)+$` (catastrophic for backtracking: exponential on
 * "aaaa…a!") and with the trivial `!$`, which also reads the whole payload; payloads
 * "aaaa…a!" of 1 KiB and 8 KiB. Figures: CPU per message of each, their ratio, and how the
 * cost grows with the payload (linear: 8x for 8x the bytes). For contrast, JavaScript's own
 * RegExp (a backtracking engine) on the same pattern over inputs of a few dozen bytes,
 * stopped where one call takes milliseconds (each extra "a" doubles it).
 * Run: npm run bench:build && node dist-bench/bench/payload-filter.js
 */
import { InProcessEngine } from "./lib/in-process-engine.js";
import {
  compareRates,
  formatRatio,
  median,
  printTable,
  type SummaryRow,
  saveResults,
  sized,
  tiny,
} from "./lib/measure.js";

const CATASTROPHIC = "(a+)+$";
const TRIVIAL = "!$";
const BROKER = "tcp://b:1883";

function engine(pattern: string): InProcessEngine {
  return new InProcessEngine(
    `mqttBrokerUri: ${BROKER}\ntopics: ["plant/#"]\ntimeoutSeconds: 60\nmessageRegexp: "${pattern}"\n`,
    [BROKER],
  );
}

/** CPU µs per message of each pattern over "aaaa…a!" payloads of `bytes`, alternating rounds. */
function usPerMessage(bytes: number, rounds: number): { catastrophic: number; trivial: number } {
  const payload = Buffer.from(`${"a".repeat(bytes - 1)}!`);
  const topics = Array.from({ length: 100 }, (_, i) => `plant/line/${i}`);
  const engines = { catastrophic: engine(CATASTROPHIC), trivial: engine(TRIVIAL) };
  let i = 0;
  const rates = compareRates(
    {
      catastrophic: () => engines.catastrophic.message(topics[i++ % 100]!, payload, BROKER),
      trivial: () => engines.trivial.message(topics[i++ % 100]!, payload, BROKER),
    },
    { rounds },
  );
  return { catastrophic: 1e6 / rates.catastrophic!, trivial: 1e6 / rates.trivial! };
}

/** µs of one call (for inputs that take milliseconds): the median of three. */
function timeCall(fn: () => unknown): number {
  const times = [0, 1, 2].map(() => {
    const start = performance.now();
    fn();
    return (performance.now() - start) * 1000;
  });
  return median(times);
}

async function main(): Promise<void> {
  const rounds = sized("BENCH_ROUNDS", 9, 1);
  const small = sized("BENCH_PAYLOAD_BYTES", 1024, 64);
  const large = small * 8;
  const atSmall = usPerMessage(small, rounds);
  const atLarge = usPerMessage(large, rounds);
  const ratio = atSmall.catastrophic / atSmall.trivial;
  const growth = atLarge.catastrophic / atSmall.catastrophic;

  // JavaScript's RegExp backtracks: every extra "a" doubles its time, so it stops at a few dozen bytes.
  const js = new RegExp(CATASTROPHIC);
  const jsAs = tiny ? 14 : 20;
  const jsUs = timeCall(() => js.test(`${"a".repeat(jsAs)}!`));
  const jsUsLonger = timeCall(() => js.test(`${"a".repeat(jsAs + 2)}!`));

  process.stdout.write(`payload filter: payloads "aaaa…a!", the reference handler's Configuration\n\n`);
  printTable(
    ["pattern", "engine", "payload", "CPU per message"],
    [
      [CATASTROPHIC, "akri-mqtt (RE2)", `${small} B`, `${atSmall.catastrophic.toFixed(2)} µs`],
      [TRIVIAL, "akri-mqtt (RE2)", `${small} B`, `${atSmall.trivial.toFixed(2)} µs`],
      [CATASTROPHIC, "akri-mqtt (RE2)", `${large} B`, `${atLarge.catastrophic.toFixed(2)} µs`],
      [TRIVIAL, "akri-mqtt (RE2)", `${large} B`, `${atLarge.trivial.toFixed(2)} µs`],
      [CATASTROPHIC, "JS RegExp", `${jsAs + 1} B`, `${jsUs.toFixed(0)} µs`],
      [CATASTROPHIC, "JS RegExp", `${jsAs + 3} B`, `${jsUsLonger.toFixed(0)} µs`],
    ],
  );
  const figures = {
    [`${small}B`]: atSmall,
    [`${large}B`]: atLarge,
    ratio,
    growth,
    jsRegExp: { [`${jsAs + 1}B`]: jsUs, [`${jsAs + 3}B`]: jsUsLonger },
  };
  const summary: SummaryRow[] = [
    {
      benchmark: `messageRegexp ${CATASTROPHIC}, ${small} B "aa…a!"`,
      ours: `${atSmall.catastrophic.toFixed(1)} µs/msg`,
      baseline: `"${TRIVIAL}" ${atSmall.trivial.toFixed(1)} µs/msg; JS RegExp ${(jsUsLonger / 1000).toFixed(0)} ms on ${jsAs + 3} B`,
      ratio: formatRatio(ratio),
      goal: "<= 2x",
    },
    {
      benchmark: `messageRegexp ${CATASTROPHIC}, ${large} B vs ${small} B`,
      ours: `${atLarge.catastrophic.toFixed(1)} µs/msg`,
      baseline: `${atSmall.catastrophic.toFixed(1)} µs/msg`,
      ratio: formatRatio(growth),
      goal: "<= 8x (linear)",
    },
  ];
  await saveResults("payloadFilter", figures, summary);
}

await main();
