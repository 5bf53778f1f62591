import { deviceHash } from "../../../src/discovery/device.js";
import type { DeviceWatch, DiscoveredDevice } from "./device-watch.js";
import { DiscoveryError, type HandlerEndpoint } from "./handler-endpoint.js";
import type { Instance } from "./instance.js";

/*
 * The agent's discovery handler registry and its requests, as Akri 0.13.26 has them
 * (agent/src/discovery_handler_manager/discovery_handler_registry.rs: DHRegistryImpl,
 * DHRequestImpl). One request per Configuration, holding one watch per Discover stream.
 */

const AKRI_PREFIX = "akri.sh";

/** What a request needs of its Configuration. */
export interface RequestSpec {
  key: string;
  handlerName: string;
  details: string;
  properties: Record<string, Buffer | undefined>;
  extraDeviceProperties: Record<string, string>;
}

/** DiscoveredDevice::device_hash: BLAKE2b-3 of the id, and of id + node for a local device. */
function hashOf(device: DiscoveredDevice): string {
  return deviceHash(device.shared ? device.id : `${device.id}${device.node}`);
}

export class DiscoveryRequest {
  private readonly streams: DeviceWatch[] = [];
  private ended = false;

  constructor(
    readonly spec: RequestSpec,
    /** handle_request: a change asks for a reconcile of the Configuration. */
    private readonly onChange: () => void,
    /** The request is gone (its last stream ended, or terminated). */
    private readonly onEnd: () => void,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** The ids each of its Discover streams lists now. */
  streamIds(): string[][] {
    return this.streams.map((stream) => stream.devices.map((d) => d.id));
  }

  /** watch_devices starts on the streams new_request opened. */
  start(streams: DeviceWatch[]): void {
    for (const stream of streams) this.follow(stream);
  }

  private follow(stream: DeviceWatch): void {
    this.streams.push(stream);
    stream.subscribe(() => this.onStreamChange(stream));
  }

  /**
   * watch_devices: a stream whose channel closed (after its last list) leaves the request;
   * the last one leaving ends it. Otherwise the union is recomputed (send_replace on the
   * request's notifier), which handle_request turns into a reconcile.
   */
  private onStreamChange(stream: DeviceWatch): void {
    if (this.ended) return;
    if (stream.closed) {
      this.streams.splice(this.streams.indexOf(stream), 1);
      if (this.streams.length === 0) {
        this.end();
        return;
      }
    }
    this.onChange();
  }

  /**
   * A new endpoint registered under this handler name (the registry's endpoint_notifier):
   * query it and keep the new stream besides the old ones; success or not, the request
   * notifies (watch_devices falls through to send_replace).
   */
  async onEndpointRegistered(endpoint: HandlerEndpoint): Promise<void> {
    if (this.ended || endpoint.name !== this.spec.handlerName) return;
    try {
      const stream = await endpoint.query(this.spec.details, this.spec.properties);
      if (this.ended) stream.drop();
      else this.follow(stream);
    } catch {
      // query's error is dropped there (`if let Ok(q) = self.query(..)`).
    }
    if (!this.ended) this.onChange();
  }

  /**
   * The devices, de-duplicated by CDI name, first occurrence winning: the CDI kind
   * watch_devices publishes (unique_by(get_device_cdi_fqdn)).
   */
  devices(): DiscoveredDevice[] {
    const seen = new Set<string>();
    const devices: DiscoveredDevice[] = [];
    for (const stream of this.streams)
      for (const device of stream.devices) {
        const cdi = this.cdiName(device);
        if (seen.has(cdi)) continue;
        seen.add(cdi);
        devices.push(device);
      }
    return devices;
  }

  /**
   * get_instances: an Instance for every device of every stream, in stream order. Unlike
   * the CDI kind it does NOT de-duplicate: a device two streams list is applied twice.
   */
  instances(): Instance[] {
    return this.streams.flatMap((stream) => stream.devices.map((device) => this.deviceToInstance(device)));
  }

  /** set_extra_device_properties: the Configuration's brokerProperties for later instances. */
  setExtraDeviceProperties(properties: Record<string, string>): void {
    this.spec.extraDeviceProperties = properties;
  }

  /** device_to_instance: properties extended (overridden) by the Configuration's. */
  private deviceToInstance(device: DiscoveredDevice): Instance {
    const hash = hashOf(device);
    return {
      apiVersion: "akri.sh/v0",
      kind: "Instance",
      metadata: { name: `${this.spec.key}-${hash}` },
      spec: {
        configurationName: this.spec.key,
        cdiName: `${AKRI_PREFIX}/${this.spec.key}=${hash}`,
        capacity: 0,
        brokerProperties: { ...device.properties, ...this.spec.extraDeviceProperties },
        shared: device.shared,
        nodes: [],
        deviceUsage: {},
      },
    };
  }

  private cdiName(device: DiscoveredDevice): string {
    return `${AKRI_PREFIX}/${this.spec.key}=${hashOf(device)}`;
  }

  /** terminate_request, or the last stream gone: every stream is given up. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const stream of this.streams.splice(0)) stream.drop();
    this.onEnd();
  }
}

export class DiscoveryRegistry {
  /** handlers: by name, then by uid (a registration with the same uid replaces the old). */
  private readonly handlers = new Map<string, Map<string, HandlerEndpoint>>();
  private readonly requests = new Map<string, DiscoveryRequest>();

  /** A request's change (or end) asks for a reconcile of its Configuration (configuration_notifier). */
  constructor(private readonly reconcileRequested: (key: string) => void) {}

  /**
   * new_request: query every endpoint registered under the handler name at once; one
   * failure fails the request (try_join_all) and the streams opened are given up. No
   * endpoint at all is NoHandler.
   */
  async newRequest(spec: RequestSpec): Promise<void> {
    const endpoints = [...(this.handlers.get(spec.handlerName)?.values() ?? [])];
    if (endpoints.length === 0) throw new DiscoveryError("NoHandler", spec.handlerName);
    const results = await Promise.allSettled(endpoints.map((e) => e.query(spec.details, spec.properties)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      for (const r of results) if (r.status === "fulfilled") r.value.drop();
      throw failed.reason;
    }
    const request: DiscoveryRequest = new DiscoveryRequest(
      spec,
      () => this.reconcileRequested(spec.key),
      () => {
        // The task around watch_devices removes the request; the notifier dropped,
        // handle_request asks for one more reconcile.
        if (this.requests.get(spec.key) === request) this.requests.delete(spec.key);
        this.reconcileRequested(spec.key);
      },
    );
    this.requests.set(spec.key, request);
    request.start(results.map((r) => (r as PromiseFulfilledResult<DeviceWatch>).value));
  }

  getRequest(key: string): DiscoveryRequest | undefined {
    return this.requests.get(key);
  }

  /** terminate_request: the Configuration is being deleted. */
  terminateRequest(key: string): void {
    const request = this.requests.get(key);
    this.requests.delete(key);
    request?.end();
  }

  /**
   * register_endpoint: every live request hears of it (and opens a stream on it, even for
   * an identical re-registration), then it is filed under its uid; once stopped, the
   * stopped endpoints of that name are dropped.
   */
  registerEndpoint(endpoint: HandlerEndpoint): void {
    for (const request of this.requests.values()) void request.onEndpointRegistered(endpoint);
    let byUid = this.handlers.get(endpoint.name);
    if (!byUid) {
      byUid = new Map();
      this.handlers.set(endpoint.name, byUid);
    }
    byUid.set(endpoint.uid, endpoint);
    endpoint.whenStopped(() => {
      const current = this.handlers.get(endpoint.name);
      if (!current) return;
      for (const [uid, e] of current) if (e.stopped) current.delete(uid);
      if (current.size === 0) this.handlers.delete(endpoint.name);
    });
  }

  /** Every request ends (the agent stops). */
  close(): void {
    for (const key of [...this.requests.keys()]) this.terminateRequest(key);
  }
}
