import { connect } from "node:net";
import { type ClientReadableStream, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { DiscoveryHandlerClient, type Registered } from "../akri-v0.js";
import { DeviceWatch, type DiscoveredDevice } from "./device-watch.js";

/*
 * One registered discovery handler endpoint as the agent holds it: NetworkEndpoint of
 * Akri 0.13.26 (agent/src/discovery_handler_manager/registration_socket.rs). Every query
 * dials the endpoint afresh (get_client) and calls Discover once.
 */

/** A registration as the agent received it. */
export type Registration = Registered;

/** DiscoveryError (agent/src/discovery_handler_manager/mod.rs), as far as the agent tells them apart. */
export class DiscoveryError extends Error {
  constructor(
    readonly kind: "InvalidDiscoveryDetails" | "UnavailableDiscoveryHandler" | "NoHandler",
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

interface DiscoverClient {
  Discover(
    request: object,
  ): ClientReadableStream<{ devices: { id: string; properties: Record<string, string> }[] }>;
  close(): void;
}

export class HandlerEndpoint {
  private stoppedFlag = false;
  private readonly onStop = new Set<() => void>();

  constructor(
    readonly registration: Registration,
    readonly nodeName: string,
  ) {}

  /** get_uid: `<name>@<endpoint>`. */
  get uid(): string {
    return `${this.registration.name}@${this.registration.endpoint}`;
  }

  get name(): string {
    return this.registration.name;
  }

  /** The Stopper: once stopped, every stream of this endpoint ends and queries fail. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  stop(): void {
    if (this.stoppedFlag) return;
    this.stoppedFlag = true;
    for (const action of this.onStop) action();
    this.onStop.clear();
  }

  /** Runs `action` when the endpoint stops (closed()). */
  whenStopped(action: () => void): void {
    if (this.stoppedFlag) action();
    else this.onStop.add(action);
  }

  /**
   * query: connect (a failure stops the endpoint: it must register again), call Discover
   * and wait for the response to start (tonic's `discover().await`): INVALID_ARGUMENT is
   * InvalidDiscoveryDetails, any other status UnavailableDiscoveryHandler (the endpoint
   * stays). Then handle_stream feeds the returned watch.
   */
  async query(details: string, properties: Record<string, Buffer | undefined>): Promise<DeviceWatch> {
    if (this.stoppedFlag) throw new DiscoveryError("UnavailableDiscoveryHandler", this.uid);
    const target = await this.dial();
    if (target === undefined) {
      this.stop();
      throw new DiscoveryError("UnavailableDiscoveryHandler", `${this.uid}: cannot connect`);
    }
    const client = new DiscoveryHandlerClient(
      target,
      credentials.createInsecure(),
    ) as unknown as DiscoverClient;
    const discovery_properties: Record<string, object> = {};
    for (const [k, v] of Object.entries(properties))
      discovery_properties[k] = v === undefined ? {} : { vec: v };
    const call = client.Discover({ discovery_details: details, discovery_properties });
    const pendingData: { devices: { id: string; properties: Record<string, string> }[] }[] = [];
    const early = (response: (typeof pendingData)[number]) => pendingData.push(response);
    call.on("data", early);
    const started = await new Promise<ServiceError | undefined>((resolve) => {
      call.once("metadata", () => resolve(undefined));
      call.once("error", (e: ServiceError) => resolve(e));
    });
    if (started !== undefined) {
      client.close();
      throw new DiscoveryError(
        started.code === status.INVALID_ARGUMENT ? "InvalidDiscoveryDetails" : "UnavailableDiscoveryHandler",
        `${this.uid}: ${started.details}`,
      );
    }
    call.off("data", early);
    const watch = new DeviceWatch();
    this.handleStream(call, client, watch);
    for (const response of pendingData) watch.replace(this.devices(response.devices));
    return watch;
  }

  /**
   * handle_stream: every DiscoverResponse replaces the list; the stream's end ("closed the
   * stream unexpectedly"), an error, the endpoint stopping or the receiver dropped end it.
   */
  private handleStream(
    call: ClientReadableStream<{ devices: { id: string; properties: Record<string, string> }[] }>,
    client: DiscoverClient,
    watch: DeviceWatch,
  ): void {
    let done = false;
    const finish = (cancel: boolean) => {
      if (done) return;
      done = true;
      this.onStop.delete(onStop);
      if (cancel) call.cancel();
      client.close();
      watch.close();
    };
    const onStop = () => finish(true);
    this.onStop.add(onStop);
    watch.whenDropped(() => finish(true));
    call.on("data", (response) => watch.replace(this.devices(response.devices)));
    call.on("end", () => finish(false));
    call.on("error", () => finish(false));
  }

  private devices(devices: { id: string; properties: Record<string, string> }[]): DiscoveredDevice[] {
    return devices.map((d) => ({
      id: d.id,
      properties: { ...d.properties },
      shared: this.registration.shared,
      node: this.nodeName,
    }));
  }

  /**
   * get_client's connection: a Unix socket (dialled under the dummy URI, so any name
   * serves) or the registered http:// address. Resolves the grpc target, or undefined
   * when nothing answers.
   */
  private dial(): Promise<string | undefined> {
    const { endpoint, endpoint_type } = this.registration;
    const options =
      endpoint_type === "UDS"
        ? { path: endpoint }
        : (() => {
            const url = new URL(endpoint);
            return { host: url.hostname, port: Number(url.port) };
          })();
    const target = endpoint_type === "UDS" ? `unix://${endpoint}` : endpoint.replace(/^http:\/\//, "");
    return new Promise((resolve) => {
      const socket = connect(options);
      socket.once("connect", () => {
        socket.destroy();
        resolve(target);
      });
      socket.once("error", () => resolve(undefined));
    });
  }
}
