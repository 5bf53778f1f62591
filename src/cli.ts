#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { inspectCommand } from "./cli/inspect-command.js";
import { RuntimeError, UsageError } from "./cli/usage-error.js";

const program = new Command();

program
  .name("akri-mqtt")
  .description("Akri discovery handler for Sparkplug B and MQTT devices")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command("inspect")
  .description("decode Sparkplug traffic from a fixture or a live broker, one JSON line per message")
  .argument("[fixture]", "a fixture file (.jsonl, .jsonl.gz, or sparkplug-tck-go capture)")
  .option("--broker <url>", "inspect live traffic from this broker instead of a fixture")
  .option("--topic <filter...>", "topic filters to subscribe to with --broker", undefined)
  .option("--reorder-timeout <ms>", "how long a seq gap may wait for the missing messages")
  .action(inspectCommand);

program
  .command("demo")
  .description(
    "show what akri-mqtt sees in the bundled recorded fleet (the full demo arrives with discovery)",
  )
  .action(async () => {
    const fixture = fileURLToPath(new URL("../test/fixtures/tahu/session.jsonl", import.meta.url));
    await inspectCommand(fixture, {});
  });

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
