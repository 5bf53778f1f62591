import { defineMode } from "../../../src/discovery/mode.js";
import { toyKeys } from "./details.js";
import { ToyDiscoverer } from "./toy-discoverer.js";

/*
 * A third discovery mode, for the test that shows what adding one takes: this folder, and
 * its entry in the list of modes (test/unit/discovery/toy-mode.test.ts adds it as
 * src/discovery/modes/registry.ts lists the real ones).
 */

export const toyMode = defineMode({
  name: "toy",
  details: {
    keys: () => toyKeys,
    known: { toy: ["prefix"] },
    impliedBy: "toy",
    own: ({ toy }) =>
      toy === undefined
        ? { ok: false, error: "toy: required in toy mode (expected {prefix: <topic level>})" }
        : { ok: true, value: { toy } },
  },
  create: (details) => new ToyDiscoverer(details),
  kindLabels: { "toy-thing": "thing" },
  properties: { standard: ["TOY_TOPIC"], dataTopic: "TOY_TOPIC" },
});
