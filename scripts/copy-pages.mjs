/*
 * `npm run build` (and bench:build): copies the web pages' files (.html, .css, .js under
 * src/) beside the compiled code, where the modules that serve them read them
 * (src/http/page-files.ts). tsc copies nothing but what it compiles.
 * Usage: node scripts/copy-pages.mjs <out dir of src/, e.g. dist>
 */
import { cpSync, statSync } from "node:fs";
import { extname } from "node:path";

const PAGE_FILES = new Set([".html", ".css", ".js"]);
const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/copy-pages.mjs <out dir>");
  process.exit(2);
}
cpSync("src", out, {
  recursive: true,
  filter: (from) => statSync(from).isDirectory() || PAGE_FILES.has(extname(from)),
});
