import { rm } from "node:fs/promises";
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import {
  type ClientReadableStream,
  credentials,
  Server,
  ServerCredentials,
  type ServiceError,
} from "@grpc/grpc-js";
import { DiscoveryHandlerClient, type Registered, RegistrationService } from "./akri-v0.js";
import { eventually } from "./live-host.js";

export { type Registered, RegistrationService } from "./akri-v0.js";

/*
 * Plays the Akri agent in tests, as Akri 0.13.26's agent behaves (project-akri/akri,
 * agent/src/discovery_handler_manager/):
 * - `start` removes a stale agent-registration.sock and binds the same path at once
 *   (registration_socket.rs, run_registration_server); `stop` removes it as a graceful exit
 *   does. A SIGKILLed agent leaves its socket behind: see agent-process.ts for that.
 * - RegisterDiscoveryHandler never fails, and every registration, even an identical one, is
 *   broadcast to every live request for that handler name, which opens one more Discover
 *   stream on it and keeps its old ones (discovery_handler_registry.rs, register_endpoint
 *   and watch_devices).
 * - A request (`apply`, one per Configuration) queries every endpoint registered under its
 *   handler name (new_request) and lists the union of its streams' latest lists, the first
 *   occurrence of an id winning; deleting it cancels all its streams (terminate_request).
 * - When the handler ends a request's last open stream (or its connection dies), the request
 *   is removed and re-created at once, querying every registered endpoint again with no
 *   backoff (handle_stream returns; watch_devices drops the endpoint's receiver and, with none
 *   left, returns; new_request at the reconcile that follows). An endpoint that cannot be
 *   connected to is stopped and forgotten (NetworkEndpoint::query), the request fails, and it
 *   is retried after 1 s, 2 s, 4 s... (discovery_configuration_controller.rs, error_policy:
 *   500 ms doubled at each failure, no cap); while failing it is not in the registry, so a new
 *   registration reaches it only at its next retry.
 * - `discover` is one query on one endpoint (NetworkEndpoint::query), for tests of the
 *   stream itself.
 */

/**
 * The largest DiscoverResponse the agent takes. Its Discover client is built with no
 * `max_decoding_message_size` (agent/src/discovery_handler_manager/registration_socket.rs,
 * NetworkEndpoint::get_client: `DiscoveryHandlerClient::new(channel)`), so tonic's default
 * holds: tonic 0.13.1 (Akri's Cargo.lock), src/codec/mod.rs, `DEFAULT_MAX_RECV_MESSAGE_SIZE:
 * usize = 4 * 1024 * 1024`, which decode.rs applies to the message (the 5-byte gRPC prefix
 * not counted), as grpc-js's `grpc.max_receive_message_length` does.
 */
export const AGENT_MAX_DECODING_BYTES = 4 * 1024 * 1024;

export interface TestDevice {
  id: string;
  properties: Record<string, string>;
}

export class TestAgent {
  readonly registrations: Registered[] = [];
  private server: Server | undefined;
  /** Registered endpoints by uid (`<name>@<endpoint>`); a new registration replaces the old. */
  private readonly endpoints = new Map<string, Registered>();
  private readonly requests = new Map<string, AgentRequest>();

  constructor(
    readonly directory: string,
    /** Sees each registration (the agent process reports them). */
    private readonly onRegistered?: (registered: Registered) => void,
  ) {}

  get socketPath(): string {
    return join(this.directory, "agent-registration.sock");
  }

  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = new Server();
    server.addService(RegistrationService, {
      RegisterDiscoveryHandler: (
        call: { request: Registered },
        callback: (err: null, response: object) => void,
      ) => {
        const registered = call.request;
        this.registrations.push(registered);
        this.endpoints.set(`${registered.name}@${registered.endpoint}`, registered);
        for (const request of this.requests.values())
          if (request.handlerName === registered.name) request.query(registered);
        this.onRegistered?.(registered);
        callback(null, {});
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    this.server = server;
  }

  /** Exits gracefully: its socket goes away with it. */
  async stop(): Promise<void> {
    for (const request of this.requests.values()) request.terminate();
    this.requests.clear();
    this.server?.forceShutdown();
    this.server = undefined;
    await rm(this.socketPath, { force: true });
  }

  async waitForRegistrations(count: number, timeoutMs = 10_000): Promise<Registered> {
    await eventually(() => this.registrations.length >= count, `${count} registration(s)`, timeoutMs);
    return this.registrations[count - 1]!;
  }

  /**
   * A Configuration applied: a request that queries every endpoint registered under
   * `handlerName` now, and each one registered later.
   */
  apply(
    configuration: string,
    details: string,
    options: { handlerName?: string; properties?: Record<string, Buffer | undefined> } = {},
  ): AgentRequest {
    const handlerName = options.handlerName ?? "mqtt";
    const request = new AgentRequest(
      configuration,
      handlerName,
      (registered) => this.discover(registered, details, options.properties),
      {
        endpoints: () => [...this.endpoints.values()].filter((r) => r.name === handlerName),
        stop: (registered) => this.endpoints.delete(`${registered.name}@${registered.endpoint}`),
      },
    );
    this.requests.get(configuration)?.terminate();
    this.requests.set(configuration, request);
    for (const registered of this.endpoints.values())
      if (registered.name === handlerName) request.query(registered);
    return request;
  }

  /** A Configuration deleted: its request ends and every stream of it is cancelled. */
  delete(configuration: string): void {
    this.requests.get(configuration)?.terminate();
    this.requests.delete(configuration);
  }

  /** Calls Discover on a registered endpoint, as the agent does (UDS endpoints via a dummy authority). */
  discover(
    registered: Registered,
    details: string,
    properties: Record<string, Buffer | undefined> = {},
  ): DiscoverCall {
    const target =
      registered.endpoint_type === "UDS"
        ? `unix://${registered.endpoint}`
        : registered.endpoint.replace(/^http:\/\//, "");
    const client = new DiscoveryHandlerClient(target, credentials.createInsecure(), {
      "grpc.max_receive_message_length": AGENT_MAX_DECODING_BYTES,
    }) as unknown as {
      Discover(request: object): ClientReadableStream<{ devices: TestDevice[] }>;
      close(): void;
    };
    const discovery_properties: Record<string, object> = {};
    for (const [k, v] of Object.entries(properties))
      discovery_properties[k] = v === undefined ? {} : { vec: v };
    return new DiscoverCall(client.Discover({ discovery_details: details, discovery_properties }), () =>
      client.close(),
    );
  }
}

/** The agent's registry as a request sees it: the endpoints registered under its name. */
interface EndpointRegistry {
  endpoints(): Registered[];
  /** The endpoint could not be connected to: it is stopped and removed (NetworkEndpoint::query). */
  stop(registered: Registered): void;
}

/** Whether an endpoint accepts a connection, as the agent's `get_client` finds out before Discover. */
function reachable(registered: Registered): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      registered.endpoint_type === "UDS"
        ? connect(registered.endpoint)
        : connect(Number(new URL(registered.endpoint).port), new URL(registered.endpoint).hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** One Configuration's request in the agent: its Discover streams, one or more per endpoint. */
export class AgentRequest {
  readonly calls: DiscoverCall[] = [];
  /** How many times the agent re-created it after the handler ended its last stream (new_request). */
  requeries = 0;
  private terminated = false;
  /** Re-created but failed: waiting for the next retry, out of the registry's reach. */
  private failing = false;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = 500;

  constructor(
    readonly configuration: string,
    readonly handlerName: string,
    private readonly open: (registered: Registered) => DiscoverCall,
    private readonly registry?: EndpointRegistry,
  ) {}

  /** Opens one more stream on an endpoint (the old ones stay, as in watch_devices). */
  query(registered: Registered): void {
    if (this.terminated || this.failing) return;
    const call = this.open(registered);
    this.calls.push(call);
    call.onFinished(() => this.streamFinished());
  }

  /** Streams still open. */
  get openStreams(): number {
    return this.calls.filter((c) => c.isOpen).length;
  }

  /** The handler ended a stream: with none left open, the request is re-created at once. */
  private streamFinished(): void {
    if (this.terminated || this.failing || this.openStreams > 0 || !this.registry) return;
    this.requeries++;
    void this.recreate();
  }

  /** new_request: every registered endpoint at once; any that cannot be reached fails it all. */
  private async recreate(): Promise<void> {
    const registry = this.registry!;
    const endpoints = registry.endpoints();
    const reached = await Promise.all(endpoints.map(reachable));
    if (this.terminated) return;
    endpoints.forEach((registered, i) => {
      if (!reached[i]) registry.stop(registered);
    });
    if (endpoints.length === 0 || reached.includes(false)) {
      // No handler, or an unavailable one: error_policy requeues after 500 ms doubled, no cap.
      this.failing = true;
      this.backoffMs *= 2;
      this.retry = setTimeout(() => void this.recreate(), this.backoffMs);
      return;
    }
    this.failing = false;
    this.backoffMs = 500;
    for (const registered of endpoints) this.query(registered);
  }

  /** The union of the streams' latest lists (by id, the first occurrence wins). */
  ids(): string[] {
    const ids = new Set<string>();
    for (const call of this.calls) if (call.isOpen) for (const d of call.lists.at(-1) ?? []) ids.add(d.id);
    return [...ids].sort();
  }

  async waitForIds(expected: string[], what: string, timeoutMs = 10_000): Promise<void> {
    const want = JSON.stringify([...expected].sort());
    await eventually(
      () => JSON.stringify(this.ids()) === want,
      `${what}: ${want} (got ${JSON.stringify(this.ids())})`,
      timeoutMs,
    );
  }

  terminate(): void {
    this.terminated = true;
    clearTimeout(this.retry);
    for (const call of this.calls) call.cancel();
  }
}

export class DiscoverCall {
  readonly lists: TestDevice[][] = [];
  error: ServiceError | undefined;
  ended = false;
  cancelled = false;

  private readonly finished: (() => void)[] = [];

  constructor(
    private readonly stream: ClientReadableStream<{ devices: TestDevice[] }>,
    private readonly closeClient: () => void,
  ) {
    stream.on("data", (response: { devices: TestDevice[] }) =>
      this.lists.push(response.devices.map((d) => ({ id: d.id, properties: { ...d.properties } }))),
    );
    stream.on("error", (err: ServiceError) => {
      this.error = err;
      this.finish();
    });
    stream.on("end", () => {
      this.ended = true;
      this.finish();
    });
  }

  /** Runs `listener` when the handler ends the stream or it fails (not when the agent cancels it). */
  onFinished(listener: () => void): void {
    this.finished.push(listener);
  }

  private finish(): void {
    if (this.cancelled) return;
    for (const listener of this.finished.splice(0)) listener();
  }

  ids(): string[] {
    return (
      this.lists
        .at(-1)
        ?.map((d) => d.id)
        .sort() ?? []
    );
  }

  async waitForIds(expected: string[], what: string, timeoutMs = 10_000): Promise<void> {
    const want = JSON.stringify([...expected].sort());
    await eventually(
      () => JSON.stringify(this.ids()) === want,
      `${what}: ${want} (got ${JSON.stringify(this.ids())})`,
      timeoutMs,
    );
  }

  async waitForError(timeoutMs = 5000): Promise<ServiceError> {
    await eventually(() => this.error !== undefined, "an error status", timeoutMs);
    return this.error!;
  }

  /** Neither ended, failed nor cancelled. */
  get isOpen(): boolean {
    return !this.ended && !this.cancelled && this.error === undefined;
  }

  cancel(): void {
    this.cancelled = true;
    this.stream.cancel();
    this.closeClient();
  }
}

/** DiscoverRequest { discovery_details = 1 } written by hand, for raw calls. */
export function discoverRequestBytes(details: string): Buffer {
  const text = Buffer.from(details, "utf8");
  const length: number[] = [];
  let n = text.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...length]), text]);
}

/** The device ids in DiscoverResponse bytes (field 1, devices; in each, field 1, id), read without a decoder. */
export function* responseDeviceIds(bytes: Buffer): Generator<string> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return value;
  };
  while (at < bytes.length) {
    const tag = varint();
    const length = varint();
    const end = at + length;
    if (tag === 0x0a && bytes[at] === 0x0a) {
      at++;
      const idLength = varint();
      yield bytes.toString("utf8", at, at + idLength);
    }
    at = end;
  }
}

/** How many devices DiscoverResponse bytes carry. */
function responseDeviceCount(bytes: Buffer): number {
  let count = 0;
  for (const _ of responseDeviceIds(bytes)) count++;
  return count;
}

/**
 * A Discover call made over plain HTTP/2, as the agent's gRPC client makes it, that can
 * stop reading (`pause`): its flow-control window then stays shut and the handler's
 * writes stall, exactly as with an agent that hangs. Counts the devices of each response.
 * Its windows are the agent's: tonic leaves hyper's HTTP/2 client defaults in place
 * (hyper src/proto/h2/client.rs: DEFAULT_STREAM_WINDOW 2 MiB, DEFAULT_CONN_WINDOW 5 MiB),
 * not the protocol's 64 KiB.
 */
const AGENT_STREAM_WINDOW = 2 * 1024 * 1024;
const AGENT_CONNECTION_WINDOW = 5 * 1024 * 1024;

export class RawDiscoverCall {
  readonly received: { at: number; bytes: number; devices: number }[] = [];
  status: string | undefined;
  private readonly session: ClientHttp2Session;
  private readonly request: ClientHttp2Stream;
  private pending: Buffer = Buffer.alloc(0);

  constructor(registered: Registered, details: string) {
    this.session = http2.connect("http://localhost", {
      createConnection: () => connect(registered.endpoint),
      settings: { initialWindowSize: AGENT_STREAM_WINDOW },
    });
    this.session.on("error", () => undefined);
    this.session.once("connect", () => this.session.setLocalWindowSize(AGENT_CONNECTION_WINDOW));
    this.request = this.session.request({
      ":method": "POST",
      ":path": "/v0.DiscoveryHandler/Discover",
      "content-type": "application/grpc",
      te: "trailers",
    });
    this.request.on("error", () => undefined);
    this.request.on("trailers", (trailers) => {
      this.status = String(trailers["grpc-status"]);
    });
    this.request.on("data", (chunk: Buffer) => this.onData(chunk));
    const body = discoverRequestBytes(details);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    this.request.end(frame);
  }

  /** gRPC framing: a flag byte, a 4-byte length, the message. */
  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) break;
      const message = this.pending.subarray(5, 5 + length);
      this.received.push({ at: Date.now(), bytes: length, devices: responseDeviceCount(message) });
      this.pending = this.pending.subarray(5 + length);
    }
  }

  pause(): void {
    this.request.pause();
  }

  resume(): void {
    this.request.resume();
  }

  cancel(): void {
    this.request.close(http2.constants.NGHTTP2_CANCEL);
    this.session.close();
  }
}
