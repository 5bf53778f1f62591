import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { packageFile } from "../../src/paths.js";

/*
 * Akri's v0 discovery API as the agent stand-ins speak it: their own copy of the proto,
 * with snake_case field names and enums as names, as Akri's Rust code sees them (not the
 * handler's own loading in src/akri/proto.ts, so that a test is not the handler talking to
 * itself).
 */

const definition = loadSync(packageFile("test/support/akri-v0.proto", import.meta.url), {
  keepCase: true,
  defaults: true,
  enums: String,
});
const v0 = (loadPackageDefinition(definition) as GrpcObject).v0 as GrpcObject;

/** v0.Registration as the stand-ins serve it (the agent serves it). */
export const RegistrationService = (v0.Registration as ServiceClientConstructor).service;
/** v0.DiscoveryHandler (the agent calls it). */
export const DiscoveryHandlerClient = v0.DiscoveryHandler as ServiceClientConstructor;

/** A RegisterDiscoveryHandlerRequest as the agent receives it. */
export interface Registered {
  name: string;
  endpoint: string;
  endpoint_type: "UDS" | "NETWORK";
  shared: boolean;
}
