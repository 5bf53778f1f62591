/*
 * `npm run build`: bundles the CLI with esbuild into dist/cli.js, each command's code (and
 * the dependencies it alone uses) in a chunk of its own under dist/chunks/ that cli.js
 * imports when that command runs. One file read and parsed instead of hundreds of modules
 * resolved one by one was most of every command's start-up (bench/startup.ts).
 * Dependencies are bundled too; the CommonJS ones call `require`, which an ES module does
 * not have, so each output file makes its own from its URL.
 * Usage: node scripts/bundle.mjs <out dir, e.g. dist>
 */
import { rmSync } from "node:fs";
import { build } from "esbuild";

const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/bundle.mjs <out dir>");
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { cli: "src/cli.ts" },
  outdir: out,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // rxjs's "node" export is its CommonJS build, loaded whole; its ES build lets the bundle
  // keep only the operators we use.
  alias: { rxjs: "./node_modules/rxjs/dist/esm/index.js" },
  banner: {
    js: 'import { createRequire as __akriMqttCreateRequire } from "node:module";\nconst require = __akriMqttCreateRequire(import.meta.url);',
  },
});
