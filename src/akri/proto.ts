import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { packageFile } from "../paths.js";

/*
 * Akri's v0 API, loaded from proto/discovery.proto with protobufjs and made into grpc-js
 * service definitions here, as @grpc/proto-loader would make them (its serializers are
 * `encode(fromObject(value))` and `toObject(decode(bytes), options)`, with the options
 * below) without building its descriptor sets: that was a tenth of serve's start-up.
 */

const root = protobuf.loadSync(packageFile("proto/discovery.proto", import.meta.url));

const conversion: protobuf.IConversionOptions = {
  longs: String,
  enums: Number,
  // Absent fields stay absent: ByteData.vec unset must differ from an empty value.
  defaults: false,
  oneofs: true,
};

const serializer =
  (type: protobuf.Type) =>
  (value: object): Buffer =>
    type.encode(type.fromObject(value)).finish() as Buffer;

const deserializer =
  (type: protobuf.Type) =>
  (bytes: Buffer): object =>
    type.toObject(type.decode(bytes), conversion);

/** A service's definition as grpc-js takes it: each method's path, streaming and (de)serializers. */
function serviceDefinition(name: string): ServiceDefinition {
  const service = root.lookupService(name);
  const definition: Record<string, MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const requestType = method.resolvedRequestType!;
    const responseType = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(requestType),
      requestDeserialize: deserializer(requestType),
      responseSerialize: serializer(responseType),
      responseDeserialize: deserializer(responseType),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

const registerMethod = serviceDefinition("v0.Registration").RegisterDiscoveryHandler!;

/** v0.Registration/RegisterDiscoveryHandler's HTTP/2 path. */
export const REGISTER_PATH = registerMethod.path;

/** v0.RegisterDiscoveryHandlerRequest as sent (endpointType: 0 UDS, 1 NETWORK). */
export interface RegisterRequest {
  name: string;
  endpoint: string;
  endpointType: 0 | 1;
  shared: boolean;
}

/** A RegisterDiscoveryHandlerRequest as the agent will receive it. */
export function encodeRegisterRequest(request: RegisterRequest): Buffer {
  return registerMethod.requestSerialize(request);
}

const DiscoveryHandlerService = serviceDefinition("v0.DiscoveryHandler");

export const EndpointType = { UDS: 0, NETWORK: 1 } as const;

/** v0.DiscoverRequest as decoded. */
export interface DiscoverRequest {
  discoveryDetails?: string;
  discoveryProperties?: Record<string, { vec?: Buffer }>;
}

/** v0.Device as sent. */
export interface WireDevice {
  id: string;
  properties: Record<string, string>;
  mounts: never[];
  deviceSpecs: never[];
}

export interface DiscoverResponse {
  devices: WireDevice[];
}

const serializeResponse = DiscoveryHandlerService.Discover!.responseSerialize;

/** A DiscoverResponse as the agent will receive it. */
export function encodeResponse(response: DiscoverResponse): Buffer {
  return serializeResponse(response);
}

/** A length-delimited field's tag (wire type 2), as its one byte. */
const field = (n: number) => (n << 3) | 2;

function varintLength(n: number): number {
  let length = 1;
  while (n > 0x7f) {
    n >>>= 7;
    length++;
  }
  return length;
}

function writeVarint(buffer: Buffer, at: number, n: number): number {
  while (n > 0x7f) {
    buffer[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buffer[at++] = n;
  return at;
}

/** Writes a length-delimited string field; returns the offset after it. */
function writeString(buffer: Buffer, at: number, tag: number, value: string, bytes: number): number {
  buffer[at++] = tag;
  at = writeVarint(buffer, at, bytes);
  return at + buffer.write(value, at, bytes, "utf8");
}

const stringFieldLength = (bytes: number) => 1 + varintLength(bytes) + bytes;

/**
 * One device as a `devices` field of a DiscoverResponse (tag, length, bytes). A response
 * is exactly the concatenation of its devices' fields, so each device is encoded once and
 * its bytes reused in every list it is part of. Written by field number, straight into one
 * buffer (DiscoverResponse.devices = 1; Device.id = 1, properties = 2 as map entries of
 * key = 1, value = 2; no mounts or device specs): the thousand new devices of a busy list
 * take ~1 ms here against ~5 ms through protobufjs, and this is on the way to the agent.
 * Tests check it byte for byte against the reflective encoding of proto/discovery.proto.
 */
export function encodeDeviceField(device: WireDevice): Buffer {
  const { id, properties } = device;
  const keys = Object.keys(properties);
  const idBytes = Buffer.byteLength(id, "utf8");
  // Lengths first (each string's byte length is needed twice), then one buffer written in order.
  const sizes = new Array<number>(keys.length * 3);
  let deviceLength = stringFieldLength(idBytes);
  for (let i = 0; i < keys.length; i++) {
    const keyBytes = Buffer.byteLength(keys[i]!, "utf8");
    const valueBytes = Buffer.byteLength(properties[keys[i]!]!, "utf8");
    const entryLength = stringFieldLength(keyBytes) + stringFieldLength(valueBytes);
    sizes[i * 3] = keyBytes;
    sizes[i * 3 + 1] = valueBytes;
    sizes[i * 3 + 2] = entryLength;
    deviceLength += 1 + varintLength(entryLength) + entryLength;
  }
  const buffer = Buffer.allocUnsafe(1 + varintLength(deviceLength) + deviceLength);
  buffer[0] = field(1); // DiscoverResponse.devices
  let at = writeVarint(buffer, 1, deviceLength);
  at = writeString(buffer, at, field(1), id, idBytes); // Device.id
  for (let i = 0; i < keys.length; i++) {
    buffer[at++] = field(2); // Device.properties: a map entry
    at = writeVarint(buffer, at, sizes[i * 3 + 2]!);
    at = writeString(buffer, at, field(1), keys[i]!, sizes[i * 3]!);
    at = writeString(buffer, at, field(2), properties[keys[i]!]!, sizes[i * 3 + 1]!);
  }
  return buffer;
}

export function decodeResponse(bytes: Buffer): DiscoverResponse {
  return DiscoveryHandlerService.Discover!.responseDeserialize(bytes) as DiscoverResponse;
}

/** The DiscoveryHandler service for the server: responses may be given already encoded. */
export const DiscoveryHandlerServerService: ServiceDefinition = {
  ...DiscoveryHandlerService,
  Discover: {
    ...DiscoveryHandlerService.Discover!,
    responseSerialize: (value: DiscoverResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : serializeResponse(value),
  },
};
