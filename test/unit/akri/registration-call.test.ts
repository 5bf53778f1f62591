import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { connectUnix, registerOver } from "../../../src/akri/registration-call.js";
import { type Registered, RegistrationService } from "../../support/akri-agent.js";

/*
 * The registration call written by hand (HTTP/2 and gRPC framing over a connection the
 * handler opened), against a real gRPC server on a Unix socket decoding it with its own copy
 * of Akri's proto: the request arrives field for field, a status in the trailers or in
 * trailers-only headers is read, and a server without the service is an error, not a success.
 */

const request = { name: "mqtt", endpoint: "/var/lib/akri/mqtt.sock", endpointType: 0 as const, shared: true };

describe("RegisterDiscoveryHandler over a connection of our own", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A gRPC server on a fresh Unix socket, with `register` as RegisterDiscoveryHandler (or no service). */
  async function agent(
    register?: (request: Registered) => { code: number; details: string } | null,
  ): Promise<{ path: string; received: Registered[] }> {
    const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-register-"));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    const path = join(directory, "agent-registration.sock");
    const received: Registered[] = [];
    const server = new Server();
    if (register)
      server.addService(RegistrationService, {
        RegisterDiscoveryHandler: (
          call: { request: Registered },
          callback: (err: { code: number; details: string } | null, response?: object) => void,
        ) => {
          received.push(call.request);
          const error = register(call.request);
          callback(error, error ? undefined : {});
        },
      });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${path}`, ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    cleanup.push(() => server.forceShutdown());
    return { path, received };
  }

  it("delivers the request as Akri's agent decodes it and resolves on status OK", async () => {
    const { path, received } = await agent(() => null);
    await registerOver(await connectUnix(path, 1000), request, 5000);
    expect(received).toStrictEqual([
      { name: "mqtt", endpoint: "/var/lib/akri/mqtt.sock", endpoint_type: "UDS", shared: true },
    ]);
    await registerOver(
      await connectUnix(path, 1000),
      { ...request, endpoint: "http://10.0.0.7:10000", endpointType: 1 },
      5000,
    );
    expect(received[1]).toMatchObject({ endpoint: "http://10.0.0.7:10000", endpoint_type: "NETWORK" });
  });

  it("rejects with the status and message a failed call carries", async () => {
    const { path } = await agent(() => ({ code: status.UNAVAILABLE, details: "agent busy: try later" }));
    await expect(registerOver(await connectUnix(path, 1000), request, 5000)).rejects.toThrow(
      "RegisterDiscoveryHandler failed: grpc-status 14 agent busy: try later",
    );
  });

  it("rejects when the server has no such service (UNIMPLEMENTED, trailers only)", async () => {
    const { path } = await agent();
    await expect(registerOver(await connectUnix(path, 1000), request, 5000)).rejects.toThrow(
      "grpc-status 12",
    );
  });

  it("refuses to connect where no one listens", async () => {
    const directory = await mkdtemp(join(tmpdir(), "akri-mqtt-register-"));
    cleanup.push(() => rm(directory, { recursive: true, force: true }));
    await expect(connectUnix(join(directory, "agent-registration.sock"), 1000)).rejects.toMatchObject({
      code: "ENOENT",
    });
  });
});
