import type { ServiceDefinition } from "@grpc/grpc-js";
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { packageFile } from "../paths.js";

/* Akri's v0 API, loaded from proto/discovery.proto. */

const protoPath = packageFile("proto/discovery.proto", import.meta.url);

const packageDefinition = loadSync(protoPath, {
  keepCase: false,
  longs: String,
  enums: Number,
  // Absent fields stay absent: ByteData.vec unset must differ from an empty value.
  defaults: false,
  oneofs: true,
});

const v0 = (loadPackageDefinition(packageDefinition) as GrpcObject).v0 as GrpcObject;

export const RegistrationClient = v0.Registration as ServiceClientConstructor;
const DiscoveryHandlerService = (v0.DiscoveryHandler as ServiceClientConstructor)
  .service as ServiceDefinition;

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

/**
 * One device as a `devices` field of a DiscoverResponse (tag, length, bytes). A response
 * is exactly the concatenation of its devices' fields, so each device is encoded once and
 * its bytes reused in every list it is part of.
 */
export function encodeDeviceField(device: WireDevice): Buffer {
  return serializeResponse({ devices: [device] });
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
