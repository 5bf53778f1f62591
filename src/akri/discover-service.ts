import { type ServerWritableStream, status } from "@grpc/grpc-js";
import type { Subscription } from "rxjs";
import type { InventoryAccess } from "../discovery/details.js";
import { type DiscoveredDevice, deviceHash } from "../discovery/device.js";
import { DiscoveryLog } from "../discovery/discovery-log.js";
import type { DiscoveryFactory, DiscoveryOutput, PreparedDiscovery } from "../discovery/discovery-request.js";
import type { DeviceListEmission } from "../discovery/engine.js";
import { log } from "../log.js";
import { FleetEvents } from "./fleet-events.js";
import type { HandlerMetrics } from "./handler-metrics.js";
import { type DiscoverRequest, type DiscoverResponse, encodeDeviceField } from "./proto.js";
import { devicesByBroker, devicesByConfiguration, devicesByStatus } from "./stream-counts.js";
import { StreamInventory } from "./stream-inventory.js";
import { type ActiveStream, configurationOf, StreamRegistry } from "./stream-registry.js";

/*
 * v0.DiscoveryHandler/Discover. The request is validated at call time (INVALID_ARGUMENT
 * naming the key, so the agent sees it on the call itself); then the stream carries the
 * discovery's device lists: the first promptly, then only changes; never ended, never
 * emptied by a broker outage. A slow reader gets only the latest list (at most one in
 * flight and one waiting). A list over the agent's 4 MiB limit is cut at the end of its
 * stable order, logged and counted, never silently. This layer sees device lists and the
 * discovery's report, nothing of MQTT or of any discovery mode.
 */

/** The agent's (tonic's) default receive limit, less room for the gRPC frame. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024 - 64;

/** How many of a cut list's devices the error names (all of them in /devices?all=true). */
const CUT_IDS_LOGGED = 10;

export interface DiscoverServiceOptions {
  discover: DiscoveryFactory;
  metrics: HandlerMetrics;
  /**
   * The agent cancelled our last open stream: it may have dropped our endpoint (re-register).
   * Not called while another stream is open: in Akri 0.13 a registration makes every live
   * request open one more stream, so re-registering because one Configuration was deleted
   * would double the streams of all the others.
   */
  onLastStreamCancelled: () => void;
  /** A Discover call came (valid or not): the agent has our endpoint and has not stopped it. */
  onDiscoverCall?: () => void;
  maxResponseBytes?: number;
}

/**
 * Encoded devices, keyed by their properties object: listed devices are immutable and a
 * status change keeps the properties object, so the bytes Akri sees are encoded once.
 */
const encodedDevices = new WeakMap<Record<string, string>, Buffer>();

function deviceBytes(device: DiscoveredDevice): Buffer {
  let bytes = encodedDevices.get(device.properties);
  if (!bytes) {
    bytes = encodeDeviceField({ id: device.id, properties: device.properties, mounts: [], deviceSpecs: [] });
    encodedDevices.set(device.properties, bytes);
  }
  return bytes;
}

/**
 * A list as DiscoverResponse bytes, cut to fit `maxBytes` at the end of its order.
 * Returns the bytes, how many devices they hold, and how many were cut.
 */
export function encodeList(
  devices: readonly DiscoveredDevice[],
  maxBytes: number,
): { bytes: Buffer; kept: number; cut: number } {
  const parts: Buffer[] = [];
  let total = 0;
  for (const device of devices) {
    const bytes = deviceBytes(device);
    if (total + bytes.length > maxBytes) break;
    parts.push(bytes);
    total += bytes.length;
  }
  return { bytes: Buffer.concat(parts, total), kept: parts.length, cut: devices.length - parts.length };
}

export type DiscoverCall = ServerWritableStream<DiscoverRequest, DiscoverResponse | Buffer>;

/**
 * Writes lists to one call without queueing them: at most one in flight and one waiting,
 * which a newer list replaces (the agent only cares about the latest).
 */
class ListWriter {
  private inFlight = false;
  private waiting: { response: Buffer; madeAt: number } | undefined;
  private ended = false;

  constructor(
    private readonly call: DiscoverCall,
    private readonly metrics: HandlerMetrics,
    /** How long a list took from being made (`madeAt`: its step's time, Date.now()) to being written out. */
    private readonly onWritten: (ms: number) => void,
  ) {}

  send(response: Buffer, madeAt: number): void {
    if (this.ended) return;
    if (!this.inFlight) {
      this.write(response, madeAt);
      return;
    }
    if (this.waiting) this.metrics.listsSkipped.inc();
    this.waiting = { response, madeAt };
  }

  private write(response: Buffer, madeAt: number): void {
    this.inFlight = true;
    this.metrics.listsSent.inc();
    // Written out: HTTP/2 flow control let the last of it go to the agent's socket.
    this.call.write(response, () => {
      this.inFlight = false;
      if (!this.ended) this.onWritten(Date.now() - madeAt);
      const next = this.waiting;
      this.waiting = undefined;
      if (next && !this.ended) this.write(next.response, next.madeAt);
    });
  }

  end(): void {
    this.ended = true;
    this.waiting = undefined;
  }
}

export class DiscoverService {
  private readonly streams = new StreamRegistry();
  /** The agent's open Discover calls, by stream: ended at shutdown. */
  private readonly calls = new Map<number, DiscoverCall>();
  private readonly maxBytes: number;
  /** What the discoveries reported, for the fleet page's live feed (GET /events). */
  readonly events = new FleetEvents();
  private readonly inventory: StreamInventory;

  constructor(private readonly options: DiscoverServiceOptions) {
    this.maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.inventory = new StreamInventory(this.streams, this.maxBytes);
    const { streams } = this;
    options.metrics.countDevices(
      () => devicesByStatus(streams.all()),
      () => devicesByBroker(streams.all()),
      () => devicesByConfiguration(streams.all()),
    );
  }

  /** Open Discover streams. */
  get size(): number {
    return this.streams.size;
  }

  /** The grpc-js handler for Discover. */
  readonly handler = (call: DiscoverCall): void => {
    this.options.onDiscoverCall?.();
    const properties: Record<string, Uint8Array | undefined> = {};
    for (const [name, data] of Object.entries(call.request.discoveryProperties ?? {}))
      properties[name] = data.vec;
    const discovery = this.options.discover({ details: call.request.discoveryDetails ?? "", properties });
    if (!discovery.ok) {
      this.refuse(call, discovery.error);
      return;
    }
    const writer = new ListWriter(call, this.options.metrics, (ms) => discovery.delivered(ms));
    const stream = this.run(
      discovery,
      (s, emission) => this.send(s, writer, emission),
      () => {
        writer.end();
        this.calls.delete(stream.id);
      },
    );
    this.calls.set(stream.id, call);
    call.on("cancelled", () => {
      const open = this.streams.has(stream.id);
      stream.close("cancelled by the agent");
      if (open && this.streams.size === 0) this.options.onLastStreamCancelled();
    });
    call.on("error", (e) => stream.close(`stream error: ${(e as Error).message}`));
    call.on("close", () => stream.close("closed"));
  };

  /**
   * Runs a discovery that no agent asked for (the demo's own) as one of this service's
   * streams, so that /devices, /events and the fleet page show it. Returns how to stop it.
   */
  watch(
    discovery: Extract<PreparedDiscovery, { ok: true }>,
    onOutput: (output: DiscoveryOutput) => void,
  ): () => void {
    const stream = this.run(
      discovery,
      (s, emission) => {
        s.lastSent = emission;
      },
      () => undefined,
      onOutput,
    );
    return () => stream.close("stopped");
  }

  /** Opens a stream for a discovery and runs it: its lists to `deliver`, its report to the log and /events. */
  private run(
    discovery: Extract<PreparedDiscovery, { ok: true }>,
    deliver: (stream: ActiveStream, emission: DeviceListEmission) => void,
    onClose: () => void,
    onOutput?: (output: DiscoveryOutput) => void,
  ): ActiveStream {
    const stream = this.open(discovery.about);
    for (const warning of discovery.warnings) log.warn({ stream: stream.id }, warning);
    const events = new DiscoveryLog(log, { context: { stream: stream.id } });
    const subscription: Subscription = discovery.outputs$.subscribe({
      next: (output) => {
        events.observe(output);
        // Most outputs are a message that changed nothing anyone sees.
        if (output.report.length + output.listed.length + output.emissions.length > 0) this.streams.changed();
        if (output.report.length > 0) this.events.publish(stream.id, output.report);
        // Devices the next list will hold: encoded and hashed now, while traffic flows,
        // rather than all at once when the list is due.
        for (const device of output.listed) {
          deviceBytes(device);
          stream.hashes.add(device.id);
        }
        for (const emission of output.emissions) deliver(stream, emission);
        onOutput?.(output);
      },
      error: (e) => log.error({ stream: stream.id, err: (e as Error).message }, "discovery failed"),
    });
    let ended = false;
    stream.close = (reason) => {
      if (ended) return;
      ended = true;
      onClose();
      subscription.unsubscribe();
      events.close();
      this.streams.remove(stream.id);
      this.events.minutes.forget(stream.id);
      this.options.metrics.streams.set(this.streams.size);
      log.info({ stream: stream.id, reason }, "Discover stream closed");
    };
    return stream;
  }

  /** Registers a new stream (for /devices and /metrics). */
  private open(about: ActiveStream["about"]): ActiveStream {
    const stream = this.streams.open(about);
    this.options.metrics.streamsTotal.inc();
    this.options.metrics.streams.set(this.streams.size);
    log.info(
      { stream: stream.id, mode: about.mode, brokers: about.brokers().map((b) => b.uri) },
      "Discover stream opened",
    );
    return stream;
  }

  /** Sends one list (cut to the agent's limit if it must be), then checks its instance hashes. */
  private send(stream: ActiveStream, writer: ListWriter, emission: DeviceListEmission): void {
    const { metrics } = this.options;
    const { bytes, cut, kept } = encodeList(emission.devices, this.maxBytes);
    stream.cut = cut > 0 ? emission.devices.slice(kept) : [];
    if (cut > 0) {
      metrics.overflows.inc();
      metrics.overflowCut.inc(cut);
      // Named, so that whoever reads the log knows which devices Akri no longer sees
      // (a few: a 100,000-device plant would cut tens of thousands).
      const cutIds = stream.cut.slice(0, CUT_IDS_LOGGED).map((d) => d.id);
      log.error(
        { stream: stream.id, devices: emission.devices.length, cut, cutIds, limitBytes: this.maxBytes },
        `device list exceeds the agent's 4 MiB message limit: the last devices (in id order) were cut${cut > cutIds.length ? ` (cutIds: the first ${cutIds.length})` : ""}; split the Configuration (e.g. per group)`,
      );
    }
    stream.lastSent = emission;
    const configuration = configurationOf(stream);
    metrics.listDevices.set({ configuration }, emission.devices.length - cut);
    metrics.listBytes.set({ configuration }, bytes.length);
    // Timed from the step that made the list (live, its `at` is the wall clock): sorting,
    // comparing and encoding it are part of what the next list must start early for.
    writer.send(bytes, emission.at);
    // Once the list is on the wire, and between other work: the instance hash check.
    void stream.hashes
      .collisionsInSlices(emission.devices)
      .then((pairs) => this.reportCollisions(stream, pairs));
  }

  /** Warns about ids whose Akri instance hashes collide (Akri would keep one of each pair). */
  private reportCollisions(stream: ActiveStream, collisions: [string, string][]): void {
    if (collisions.length > 0 || stream.collisions.length > 0) this.streams.changed();
    stream.collisions = collisions;
    if (collisions.length === 0) return;
    this.options.metrics.collisions.inc(collisions.length);
    for (const [a, b] of collisions) {
      log.warn(
        { stream: stream.id, ids: [a, b], hash: deviceHash(a) },
        "two device ids share an Akri instance hash; Akri keeps one",
      );
    }
  }

  private refuse(call: DiscoverCall, message: string): void {
    this.options.metrics.invalidArguments.inc();
    log.warn({ err: message }, "Discover refused: invalid discoveryDetails or discoveryProperties");
    call.emit("error", { code: status.INVALID_ARGUMENT, details: message });
  }

  /**
   * Shutdown: ends every stream's discovery (its connections publish STATE death as they
   * close) and every Discover call (status OK, after the list on its way). The agent queries
   * again at once when a request loses its last stream, so the server must have stopped
   * taking calls before this.
   */
  stopAll(): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const stream of [...this.streams.all()]) stream.close("handler shutting down");
    for (const call of calls) call.end();
  }

  /** Whether a stream's Configuration opened its inventory to clients off the pod's loopback. */
  openToCluster(stream: number): boolean {
    return this.streams.openToCluster(stream);
  }

  /** Whether any open stream's Configuration did. */
  anyOpenToCluster(): boolean {
    return this.streams.anyOpenToCluster();
  }

  /** The body of GET /devices for a client (see stream-inventory.ts). */
  inventoryJson(all: boolean, client: InventoryAccess): string {
    return this.inventory.json(all, client);
  }
}
