import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Observable } from "rxjs";
import { idLevel } from "../akri/node-identity.js";
import { collisionsUnlisted, InstanceHashes, sortDevices, type UnlistedEntity } from "../discovery/device.js";
import { DiscoveryLog } from "../discovery/discovery-log.js";
import type { DeviceListEmission, EngineOutput } from "../discovery/engine.js";
import { type DiscoveryDetails, parseDiscoveryDetails } from "../discovery/modes/modes.js";
import { log } from "../log.js";
import { connectionPool } from "../mqtt/connection-pool.js";
import { credentialsFromEnvironment } from "../mqtt/credentials.js";
import { liveDiscovery } from "../streams/live-discovery.js";
import { replayFixture } from "../streams/replay.js";
import { redrawDeviceTable, renderDeviceTable, renderUnlistedTable } from "./device-table.js";
import { UsageError } from "./usage-error.js";

export interface DiscoverOptions {
  details: string;
  replay?: string;
  json?: boolean;
  once?: boolean;
  /** With each list, what was seen but not listed and why. */
  explain?: boolean;
  configuration: string;
}

/** Reads and validates a discoveryDetails file; bad content is a usage error naming the key. */
async function loadDetails(path: string): Promise<DiscoveryDetails> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UsageError(`--details ${path} cannot be read`);
  }
  const parsed = parseDiscoveryDetails(text);
  if (!parsed.ok) throw new UsageError(`${path}: ${parsed.error}`);
  for (const warning of parsed.warnings) log.warn({ details: path }, warning);
  return parsed.details;
}

/** Prints device lists: JSON lines, a plain table per list, or a live table on a terminal. */
export class ListPrinter {
  private lists = 0;
  private readonly hashes = new InstanceHashes();
  constructor(
    private readonly options: {
      json: boolean;
      configuration: string;
      live: boolean;
      title: string;
      explain?: boolean;
    },
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  print(emission: DeviceListEmission, footer: string[] = []): void {
    this.lists++;
    for (const device of emission.devices) this.hashes.add(device.id);
    const collisions = this.hashes.collisions(emission.devices);
    for (const [a, b] of collisions) {
      log.warn(
        { ids: [a, b] },
        "two discovered ids share an Akri instance hash: Akri would list only one of them",
      );
    }
    const unlisted = this.options.explain ? explained(emission, collisions) : undefined;
    if (this.options.json) {
      const devices = emission.devices.map((d) => ({ id: d.id, properties: d.properties }));
      this.out.write(`${JSON.stringify(unlisted ? { devices, unlisted } : { devices })}\n`);
      return;
    }
    const header = `${this.options.title} · ${emission.devices.length} device(s) · list ${this.lists} at ${new Date(emission.at).toISOString()}`;
    const why = unlisted ? ["", ...renderUnlistedTable(unlisted)] : [];
    if (this.options.live && this.out.isTTY) {
      redrawDeviceTable(this.out, emission, this.options.configuration, [header], [...why, ...footer]);
      return;
    }
    this.out.write(
      `${[header, ...renderDeviceTable(emission, this.options.configuration), ...why, ""].join("\n")}\n`,
    );
  }
}

/** What a list leaves out and why: the discovery's reasons, and ids whose instance hashes collide. */
function explained(emission: DeviceListEmission, collisions: readonly [string, string][]): UnlistedEntity[] {
  const akri = collisionsUnlisted(collisions, emission.devices, emission.statusOf);
  return sortDevices([...akri, ...emission.unlisted()]);
}

/** `akri-mqtt discover --details FILE [--replay FIXTURE] [--json] [--once] [--explain]` */
export async function discoverCommand(options: DiscoverOptions): Promise<void> {
  const details = await loadDetails(options.details);
  const printer = new ListPrinter({
    json: options.json === true,
    configuration: options.configuration,
    live: options.replay === undefined,
    explain: options.explain === true,
    title:
      options.replay === undefined
        ? `akri-mqtt discover ${details.brokers.map((b) => b.uri).join(" ")}`
        : `replay ${options.replay}`,
  });
  if (options.replay !== undefined) {
    const fixture = options.replay;
    try {
      await access(fixture, constants.R_OK);
    } catch {
      throw new UsageError(`--replay ${fixture} cannot be read`);
    }
    const events = new DiscoveryLog(log);
    await replayFixture(
      fixture,
      details,
      (output) => {
        events.observe(output);
        for (const emission of output.emissions) printer.print(emission);
      },
      { onFixtureError: (error) => log.warn({ fixture }, error) },
    );
    return;
  }
  const names = details.brokers.flatMap((b) => (b.name === undefined ? [] : [b.name]));
  const credentials = credentialsFromEnvironment(process.env, names);
  if (!credentials.ok) throw new UsageError(credentials.error);
  // A person runs this beside handlers (even inside a handler's pod): never a handler's id.
  // The client id is this process's own; the STATE host id is kept per machine, so that
  // runs do not leave a retained STATE death each.
  const machine = idLevel(process.env.HOSTNAME || hostname() || "local");
  await runLive(
    liveDiscovery({
      details,
      credentials: credentials.credentials,
      byBroker: credentials.byBroker,
      suffix: `discover-${machine}-${process.pid}`,
      hostSuffix: `discover-${machine}`,
    }),
    printer,
    options.once === true,
  );
}

async function runLive(
  outputs$: Observable<EngineOutput>,
  printer: ListPrinter,
  once: boolean,
): Promise<void> {
  const events = new DiscoveryLog(log);
  await new Promise<void>((resolve, reject) => {
    const subscription = outputs$.subscribe({
      next: (output) => {
        events.observe(output);
        for (const emission of output.emissions) {
          printer.print(emission);
          if (once) stop();
        }
      },
      error: reject,
      complete: () => resolve(),
    });
    function stop(): void {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      subscription.unsubscribe();
      // The STATE death goes out before the connection closes.
      void connectionPool.settled().then(resolve);
    }
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
