#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { RuntimeError, UsageError } from "./cli/usage-error.js";

/*
 * Each command's module is imported when that command runs, not before: `--help` loads
 * commander only, and `serve` none of what `demo` or `inspect` needs (the MQTT client, the
 * embedded broker...). Loading modules was most of every command's start-up.
 */

// A reader that goes away (`akri-mqtt demo | head`) is the end of the output, not an error:
// stop quietly, as Unix tools do, instead of an unhandled `write EPIPE`.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

const program = new Command();

program
  .name("akri-mqtt")
  .description("Akri discovery handler for Sparkplug B and MQTT devices")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command("serve")
  .description("run as an Akri discovery handler: serve v0.DiscoveryHandler and register with the agent")
  .option(
    "--name <name>",
    "the discovery handler name Configurations refer to",
    process.env.DISCOVERY_HANDLER_NAME ?? "mqtt",
  )
  .option("--http-port <port>", "port of /healthz, /metrics and /devices (0 picks a free one)", "8080")
  .option("--http-host <address>", "address the HTTP endpoints bind to", "0.0.0.0")
  .option(
    "--inventory-access <who>",
    "who may read the plant inventory (/, /devices, /events): loopback (the pod itself and kubectl port-forward, and other clients only for Configurations with inventoryAccess: cluster) or cluster (every client, every Configuration)",
    "loopback",
  )
  .option(
    "--allowed-hosts <names>",
    "comma-separated host names the inventory may be addressed to, besides IPs, localhost and cluster names",
    "",
  )
  .action(async (options) => (await import("./cli/serve-command.js")).serveCommand(options));

program
  .command("discover")
  .description("run discovery with a discoveryDetails file, live or against a recorded fixture")
  .requiredOption("--details <file>", "the discoveryDetails YAML")
  .option("--replay <fixture>", "drive discovery from a fixture instead of the brokers")
  .option("--json", "one JSON line per device list")
  .option("--once", "exit after the replay ends, or after the first settled list when live")
  .option(
    "--explain",
    "with each list, what was seen but not listed and why (filters, selectors, births, deaths)",
  )
  .option("--configuration <name>", "the Akri Configuration name (for instance names)", "akri-mqtt")
  .action(async (options) => (await import("./cli/discover-command.js")).discoverCommand(options));

program
  .command("inspect")
  .description("decode Sparkplug traffic from a fixture or a live broker, one JSON line per message")
  .argument("[fixture]", "a fixture file (.jsonl, .jsonl.gz, or sparkplug-tck-go capture)")
  .option("--broker <url>", "inspect live traffic from this broker instead of a fixture")
  .option("--topic <filter...>", "topic filters to subscribe to with --broker")
  .option("--reorder-timeout <ms>", "how long a seq gap may wait for the missing messages")
  .action(async (fixture, options) =>
    (await import("./cli/inspect-command.js")).inspectCommand(fixture, options),
  );

program
  .command("record")
  .description("record live traffic into a fixture file")
  .requiredOption("--broker <url>", "the broker to record from")
  .option("--topic <filter...>", "topic filters (default: spBv1.0/#, STATE/+, $sparkplug/certificates/#)")
  .requiredOption("--out <file>", "the fixture to write (.gz: compressed)")
  .option("--duration <seconds>", "stop after this long (default: Ctrl-C)")
  .action(async (options) => (await import("./cli/record-command.js")).recordCommand(options));

program
  .command("replay")
  .description("publish a fixture into a broker with its original timing")
  .argument("<fixture>", "the fixture to publish")
  .requiredOption("--broker <url>", "the broker to publish to")
  .option("--speed <factor>", "play faster (2) or slower (0.5) than recorded")
  .option("--as-fast-as-possible", "ignore the recorded timing")
  .option("--loop", "start again at the end")
  .action(async (fixture, options) =>
    (await import("./cli/replay-command.js")).replayCommand(fixture, options),
  );

program
  .command("monitor")
  .description(
    "the workload for one discovered device: reads its Akri properties from the environment, keeps a persistent QoS 1 session, serves /, /state, /metrics and /events",
  )
  .option("--http-port <port>", "port of the device's page and API (default MONITOR_HTTP_PORT or 8080)")
  .option("--http-host <address>", "address to bind (default MONITOR_HTTP_HOST or 0.0.0.0)")
  .option("--allow-commands", "enable POST /command (default MONITOR_ALLOW_COMMANDS)")
  .action(async (options) => (await import("./cli/monitor-command.js")).monitorCommand(options));

program
  .command("demo")
  .description("embedded broker, simulated Sparkplug plant, live discovery (npm start)")
  .option("--duration <seconds>", "stop after this long (default: Ctrl-C)")
  .option("--json", "one JSON line per device list instead of the live table")
  .option(
    "--brokers <n>",
    "spread the plant over this many independent embedded brokers (nodes move between them)",
    "1",
  )
  .option(
    "--http-port <port>",
    "port of the fleet page on 127.0.0.1 (default 8080, or a free one when taken)",
  )
  .action(async (options) => (await import("./cli/demo-command.js")).demoCommand(options));

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`akri-mqtt: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `akri-mqtt: ${e instanceof RuntimeError || e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 1;
  }
}

await main();
