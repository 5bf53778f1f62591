import { type ServerWritableStream, status } from "@grpc/grpc-js";
import type { Observable, Subscription } from "rxjs";
import { type DiscoveryDetails, parseDiscoveryDetails } from "../discovery/details.js";
import { type DiscoveredDevice, deviceHash, instanceName } from "../discovery/device.js";
import { DiscoveryLog } from "../discovery/discovery-log.js";
import type { DeviceListEmission, DiscoveryEngine, EngineOutput } from "../discovery/engine.js";
import { log } from "../log.js";
import { type BrokerCredentials, parseBrokerCredentials } from "../mqtt/credentials.js";
import type { HandlerMetrics } from "./handler-metrics.js";
import { type DiscoverRequest, type DiscoverResponse, encodeDeviceField, type WireDevice } from "./proto.js";

/*
 * v0.DiscoveryHandler/Discover. The request is validated at call time (INVALID_ARGUMENT
 * naming the key, so the agent sees it on the call itself); then the stream carries the
 * pipeline's device lists: the first promptly, then only changes; never ended, never
 * emptied by a broker outage. A slow reader gets only the latest list (at most one in
 * flight and one waiting). A list over the agent's 4 MiB limit is cut at the end of its
 * stable order, logged and counted, never silently.
 */

/** The agent's (tonic's) default receive limit, less room for the gRPC frame. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024 - 64;

export type DiscoverFactory = (request: {
  details: DiscoveryDetails;
  credentials: BrokerCredentials;
  onEngine: (engine: DiscoveryEngine) => void;
  /** Encodes each device as it is listed, so that sending a list is a copy of ready bytes. */
  onListed: (device: DiscoveredDevice) => void;
}) => Observable<EngineOutput>;

/** One open Discover stream, for /devices and /metrics. */
export interface ActiveStream {
  id: number;
  startedAt: number;
  details: DiscoveryDetails;
  engine: DiscoveryEngine | undefined;
  lastSent: DeviceListEmission | undefined;
  /** Ends its discovery (releasing its broker connection). */
  stop: () => void;
}

export interface DiscoverServiceOptions {
  discover: DiscoverFactory;
  metrics: HandlerMetrics;
  /**
   * The agent cancelled our last open stream: it may have dropped our endpoint (re-register).
   * Not called while another stream is open: in Akri 0.13 a registration makes every live
   * request open one more stream, so re-registering because one Configuration was deleted
   * would double the streams of all the others.
   */
  onLastStreamCancelled: () => void;
  maxResponseBytes?: number;
}

function toWire(device: DiscoveredDevice): WireDevice {
  return { id: device.id, properties: device.properties, mounts: [], deviceSpecs: [] };
}

/**
 * Encoded devices, keyed by their properties object: listed devices are immutable and a
 * status change keeps the properties object, so the bytes Akri sees are encoded once.
 */
const encodedDevices = new WeakMap<Record<string, string>, Buffer>();

function deviceBytes(device: DiscoveredDevice): Buffer {
  let bytes = encodedDevices.get(device.properties);
  if (!bytes) {
    bytes = encodeDeviceField(toWire(device));
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

function propertiesOf(request: DiscoverRequest): Record<string, Uint8Array | undefined> {
  const properties: Record<string, Uint8Array | undefined> = {};
  for (const [name, data] of Object.entries(request.discoveryProperties ?? {})) properties[name] = data.vec;
  return properties;
}

export class DiscoverService {
  private nextId = 1;
  readonly streams = new Map<number, ActiveStream>();
  private readonly maxBytes: number;

  constructor(private readonly options: DiscoverServiceOptions) {
    this.maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  }

  /** The grpc-js handler for Discover. */
  readonly handler = (call: ServerWritableStream<DiscoverRequest, DiscoverResponse | Buffer>): void => {
    const { metrics } = this.options;
    const details = parseDiscoveryDetails(call.request.discoveryDetails ?? "");
    if (!details.ok) {
      this.refuse(call, details.error);
      return;
    }
    const credentials = parseBrokerCredentials(propertiesOf(call.request));
    if (!credentials.ok) {
      this.refuse(call, `discoveryProperties: ${credentials.error}`);
      return;
    }
    const stream: ActiveStream = {
      id: this.nextId++,
      startedAt: Date.now(),
      details: details.details,
      engine: undefined,
      lastSent: undefined,
      stop: () => close("handler shutting down"),
    };
    for (const warning of [...details.warnings, ...credentials.warnings])
      log.warn({ stream: stream.id }, warning);
    this.streams.set(stream.id, stream);
    metrics.streamsTotal.inc();
    metrics.streams.set(this.streams.size);
    log.info(
      { stream: stream.id, mode: details.details.mode, serverUrls: details.details.serverUrls },
      "Discover stream opened",
    );

    let inFlight = false;
    let waiting: Buffer | undefined;
    let ended = false;
    const write = (response: Buffer) => {
      inFlight = true;
      metrics.listsSent.inc();
      call.write(response, () => {
        inFlight = false;
        const next = waiting;
        waiting = undefined;
        if (next && !ended) write(next);
      });
    };
    const send = (emission: DeviceListEmission) => {
      const { bytes: response, cut } = encodeList(emission.devices, this.maxBytes);
      if (cut > 0) {
        metrics.overflows.inc();
        metrics.overflowCut.inc(cut);
        log.error(
          { stream: stream.id, devices: emission.devices.length, cut, limitBytes: this.maxBytes },
          "device list exceeds the agent's 4 MiB message limit: the last devices (in id order) were cut; split the Configuration (e.g. per group)",
        );
      }
      stream.lastSent = emission;
      if (inFlight) {
        if (waiting) metrics.listsSkipped.inc();
        waiting = response;
      } else {
        write(response);
      }
      // After the list is on its way: gauges and the (slow) instance hash check.
      this.updateDeviceGauge();
      const collisions = emission.collisions();
      if (collisions.length > 0) {
        metrics.collisions.inc(collisions.length);
        for (const [a, b] of collisions) {
          log.warn(
            { stream: stream.id, ids: [a, b], hash: deviceHash(a) },
            "two device ids share an Akri instance hash; Akri keeps one",
          );
        }
      }
    };

    const events = new DiscoveryLog(log, { context: { stream: stream.id } });
    const subscription: Subscription = this.options
      .discover({
        details: details.details,
        credentials: credentials.credentials,
        onEngine: (engine) => {
          stream.engine = engine;
        },
        onListed: (device) => {
          deviceBytes(device);
        },
      })
      .subscribe({
        next: (output) => {
          metrics.observe(output);
          events.observe(output);
          for (const emission of output.emissions) send(emission);
        },
        error: (e) => log.error({ stream: stream.id, err: (e as Error).message }, "discovery failed"),
      });

    const close = (reason: string): void => {
      if (ended) return;
      ended = true;
      subscription.unsubscribe();
      events.close();
      this.streams.delete(stream.id);
      metrics.streams.set(this.streams.size);
      this.updateDeviceGauge();
      log.info({ stream: stream.id, reason }, "Discover stream closed");
    };
    call.on("cancelled", () => {
      const open = !ended;
      close("cancelled by the agent");
      if (open && this.streams.size === 0) this.options.onLastStreamCancelled();
    });
    call.on("error", (e) => close(`stream error: ${(e as Error).message}`));
    call.on("close", () => close("closed"));
  };

  private refuse(
    call: ServerWritableStream<DiscoverRequest, DiscoverResponse | Buffer>,
    message: string,
  ): void {
    this.options.metrics.invalidArguments.inc();
    log.warn({ err: message }, "Discover refused: invalid discoveryDetails or discoveryProperties");
    call.emit("error", { code: status.INVALID_ARGUMENT, details: message });
  }

  private updateDeviceGauge(): void {
    const counts: Record<string, number> = { online: 0, stale: 0, offline: 0 };
    for (const stream of this.streams.values()) {
      for (const device of stream.lastSent?.devices ?? [])
        counts[device.status] = (counts[device.status] ?? 0) + 1;
    }
    for (const [state, n] of Object.entries(counts)) this.options.metrics.devices.set({ status: state }, n);
  }

  /** Ends every stream's discovery (shutdown): connections publish STATE death as they close. */
  stopAll(): void {
    for (const stream of [...this.streams.values()]) stream.stop();
  }

  /** The JSON inventory of /devices. */
  inventory(): unknown {
    return [...this.streams.values()].map((stream) => {
      const configuration = stream.details.configurationName;
      const devices = stream.engine?.currentDevices() ?? [];
      return {
        stream: stream.id,
        since: new Date(stream.startedAt).toISOString(),
        mode: stream.details.mode,
        serverUrls: stream.details.serverUrls,
        lastListAt: stream.lastSent ? new Date(stream.lastSent.at).toISOString() : null,
        devices: devices.map((d) => ({
          id: d.id,
          kind: d.kind,
          status: d.status,
          instanceHash: deviceHash(d.id),
          instanceName: instanceName(configuration ?? "<configuration>", d.id),
          properties: d.properties,
        })),
      };
    });
  }
}
