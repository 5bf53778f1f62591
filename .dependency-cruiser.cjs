/*
 * The layers of ARCHITECTURE.md, enforced by `npm run lint`. From the bottom: mqtt/ (and the
 * shared time/, http/, log, metrics) → sparkplug/ (the protocol) → discovery/ (the mode-neutral core)
 * and its modes → streams/ (the RxJS glue) → akri/, monitor/, demo/ → cli/ (composition).
 * Beside the product, bench/ and test/ are checked too: they may use src/, src/ never uses
 * them, and their shared code (bench/lib, test/support, test/fixtures) is not a test or a
 * benchmark itself.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-folder-cycles",
      comment: "Folders depend on each other one way only.",
      severity: "error",
      scope: "folder",
      from: { path: "^(src|bench|test)/" },
      to: { circular: true },
    },
    {
      name: "no-module-cycles",
      severity: "error",
      from: { path: "^(src|bench|test)/" },
      to: { circular: true },
    },
    {
      name: "the-product-stands-alone",
      comment: "What ships (src/) never needs the benchmarks or the tests.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(bench|test)/" },
    },
    {
      name: "test-helpers-are-not-tests",
      comment:
        "test/support and test/fixtures are what tests and benchmarks share: they import no test file and no benchmark.",
      severity: "error",
      from: { path: "^test/(support|fixtures)/" },
      to: { path: "^(test/(unit|integration)/|bench/)" },
    },
    {
      name: "tests-stand-alone",
      comment: "A test file imports no other test file (what two tests share belongs in test/support).",
      severity: "error",
      from: { path: "\\.test\\.ts$" },
      to: { path: "\\.test\\.ts$" },
    },
    {
      name: "benchmarks-stand-alone",
      comment:
        "A benchmark script runs when it is loaded, so no other benchmark and no bench/lib module imports one: bench/lib is what they share.",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^bench/[^/]+\\.ts$" },
    },
    {
      name: "akri-sees-device-lists-only",
      comment:
        "The Akri layer turns device lists and reports into gRPC: no MQTT, no Sparkplug, no discovery mode, no pipeline.",
      severity: "error",
      from: { path: "^src/akri/" },
      to: {
        path: "^src/(mqtt|sparkplug|streams|monitor|demo|cli)/|^src/discovery/(sparkplug|generic|reference|modes)/",
      },
    },
    {
      name: "discovery-core-is-mode-neutral",
      comment:
        "The engine and what it shares with every mode know no mode; only discovery/modes/ knows them all.",
      severity: "error",
      from: { path: "^src/discovery/[^/]+$" },
      to: { path: "^src/discovery/(sparkplug|generic|reference|modes)/" },
    },
    {
      name: "modes-do-not-know-each-other",
      severity: "error",
      from: { path: "^src/discovery/(sparkplug|generic)/" },
      to: { path: "^src/discovery/(modes/|(sparkplug|generic|reference)/)", pathNot: "^src/discovery/$1/" },
    },
    {
      name: "the-reference-handler-mode-is-generic-discovery",
      comment:
        "The reference handler's Configurations run as generic discovery (its keys, generic's presence); generic knows nothing of it.",
      severity: "error",
      from: { path: "^src/discovery/reference/" },
      to: { path: "^src/discovery/(modes|sparkplug)/" },
    },
    {
      name: "http-is-shared-at-the-bottom",
      comment:
        "What every HTTP server of ours checks (who asks, by what name) knows nothing of what it serves.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/(mqtt|sparkplug|discovery|streams|akri|monitor|demo|cli)/" },
    },
    {
      name: "mqtt-is-the-bottom-layer",
      severity: "error",
      from: { path: "^src/mqtt/" },
      to: { path: "^src/(sparkplug|discovery|streams|akri|monitor|demo|cli)/" },
    },
    {
      name: "sparkplug-is-the-protocol-only",
      severity: "error",
      from: { path: "^src/sparkplug/" },
      to: { path: "^src/(discovery|streams|akri|monitor|demo|cli)/" },
    },
    {
      name: "only-the-cli-composes",
      comment: "Commands are the only place that wires every layer together.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli/|cli\\.ts$)" },
      to: { path: "^src/cli/" },
    },
  ],
  options: {
    parser: "swc",
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|dist-bench|node_modules)/" },
  },
};
