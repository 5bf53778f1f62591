import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { packageRoot } from "../../src/paths.js";

/*
 * Throughput measurement for benchmarks that compare two implementations on a shared,
 * noisy machine: the candidates run in alternating short rounds, so both see the same
 * background load, and the median of the per-round rates is reported with their ratio.
 */

export interface Rate {
  opsPerSecond: number;
}

/** Runs `fn` repeatedly for about `ms` and returns operations per second. */
export function measureRate(fn: () => unknown, ms: number): number {
  // Batches keep the clock out of the measured loop.
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) fn();
    ops += 200;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/** The median (of an even count, the mean of the middle two): every benchmark's summary of its rounds. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Alternates candidates for `rounds` rounds of `roundMs` each; returns the median rate of each. */
export function compareRates(
  candidates: Record<string, () => unknown>,
  options: { rounds?: number; roundMs?: number; warmupMs?: number } = {},
): Record<string, number> {
  const { rounds = 9, roundMs = tiny ? 20 : 300, warmupMs = tiny ? 20 : 500 } = options;
  const names = Object.keys(candidates);
  for (const name of names) measureRate(candidates[name]!, warmupMs);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples[name]!.push(measureRate(candidates[name]!, roundMs));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

const resultsDirectory = join(packageRoot(import.meta.url), "bench", "results");
/** Where the figures go: bench/results/latest.json, or BENCH_RESULTS. */
export const resultsFile = process.env.BENCH_RESULTS ?? join(resultsDirectory, "latest.json");

/**
 * BENCH_SIZE=tiny shrinks every benchmark to a few seconds (CI runs them so that they
 * cannot rot; the figures mean nothing). BENCH_RESULTS moves the results file.
 */
export const tiny = process.env.BENCH_SIZE === "tiny";

/** A size knob: its environment variable, else the tiny or the full default. */
export function sized(variable: string, full: number, small: number): number {
  const set = process.env[variable];
  return set !== undefined && set !== "" ? Number(set) : tiny ? small : full;
}

/**
 * One line of `npm run bench`'s summary table, worded by the benchmark that measured it
 * (run-all prints each benchmark's lines as saved, knowing none of their figures).
 */
export interface SummaryRow {
  benchmark: string;
  ours: string;
  baseline: string;
  ratio: string;
  goal: string;
}

/** The results file's entry of one benchmark: its figures, and the lines it gives the summary. */
export interface SavedResults {
  summary?: SummaryRow[];
  [figure: string]: unknown;
}

/**
 * Merges one benchmark's figures, and its lines of the summary table, into
 * bench/results/latest.json (or BENCH_RESULTS).
 */
export async function saveResults(benchmark: string, figures: object, summary?: SummaryRow[]): Promise<void> {
  await mkdir(dirname(resultsFile), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(await readFile(resultsFile, "utf8")) as Record<string, unknown>;
  } catch {
    // first run
  }
  const saved: SavedResults = { ...figures, measuredAt: new Date().toISOString(), node: process.version };
  if (summary !== undefined) saved.summary = summary;
  all[benchmark] = saved;
  await writeFile(resultsFile, `${JSON.stringify(all, null, 2)}\n`);
}

/** Prints rows as an aligned text table. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  for (const [i, row] of cells.entries()) {
    process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}\n`);
    if (i === 0) process.stdout.write(`${widths.map((w) => "-".repeat(w)).join("  ")}\n`);
  }
}

/** Reads the results file (bench/results/latest.json or BENCH_RESULTS): each benchmark's entry by name. */
export async function readResults(): Promise<Record<string, SavedResults>> {
  return JSON.parse(await readFile(resultsFile, "utf8")) as Record<string, SavedResults>;
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

export function formatRate(opsPerSecond: number): string {
  return opsPerSecond >= 1e6
    ? `${(opsPerSecond / 1e6).toFixed(2)} M/s`
    : `${(opsPerSecond / 1e3).toFixed(1)} k/s`;
}
