import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { encodeRegisterRequest, REGISTER_PATH, type RegisterRequest } from "./proto.js";

/*
 * RegisterDiscoveryHandler over a Unix socket connection we opened ourselves, so that the
 * registration goes to the agent that connection reached and to no other. A gRPC client
 * connects when it likes; an agent that rebinds its socket meanwhile would get a registration
 * meant for the one before. gRPC's unary call is small enough to write here: an HTTP/2 POST
 * of one length-prefixed message, answered by a grpc-status in the trailers (or in the only
 * headers, "trailers-only", when the call fails at once).
 */

/** Connects to a Unix socket; resolves once connected. */
export function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${path} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    // Before the connection, its error; after, a reset before the call is made shows in the call.
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** gRPC's message framing: not compressed (0), a 4-byte big-endian length, the message. */
function frame(message: Buffer): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed;
}

/** grpc-message is percent-encoded. */
function grpcMessage(value: unknown): string {
  if (typeof value !== "string") return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Calls v0.Registration/RegisterDiscoveryHandler over `socket` (connected to the agent's
 * registration socket) and closes it. Resolves on grpc-status 0; rejects with the status,
 * an HTTP error or a timeout otherwise.
 */
export function registerOver(socket: Socket, request: RegisterRequest, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The authority is a name h2 accepts (tonic's server takes any); the path is what counts.
    const session = http2.connect("http://localhost", { createConnection: () => socket });
    let settled = false;
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) session.destroy();
      else session.close();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`RegisterDiscoveryHandler timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    session.on("error", (e) => done(e));
    const call = session.request({
      ":method": "POST",
      ":path": REGISTER_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${timeoutMs}m`,
    });
    /** The call's outcome, from the trailers or from trailers-only headers. */
    const status = (headers: http2.IncomingHttpHeaders) => {
      const code = headers["grpc-status"];
      if (code === undefined) return;
      if (String(code) === "0") done();
      else
        done(
          new Error(
            `RegisterDiscoveryHandler failed: grpc-status ${code} ${grpcMessage(headers["grpc-message"])}`.trim(),
          ),
        );
    };
    call.on("response", (headers) => {
      const httpStatus = headers[":status"];
      if (httpStatus !== 200) {
        done(new Error(`RegisterDiscoveryHandler failed: HTTP status ${httpStatus}`));
        return;
      }
      status(headers);
    });
    call.on("trailers", (trailers) => status(trailers));
    call.on("data", () => undefined); // v0.Empty: nothing to read
    call.on("error", (e) => done(e));
    call.on("close", () =>
      done(
        new Error(
          `RegisterDiscoveryHandler: the call closed without a grpc-status (HTTP/2 code ${call.rstCode})`,
        ),
      ),
    );
    call.end(frame(encodeRegisterRequest(request)));
  });
}
