import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./mosquitto.js";

/*
 * A TCP proxy in front of a broker that reads each connection's CONNECT and notes its
 * protocol level (4: MQTT 3.1.1, 5: MQTT 5), clean flag and session expiry, so a test can
 * see what a client asked the broker for. With `refuseMqtt5` it answers an MQTT 5 CONNECT itself with a CONNACK of reason
 * 0x84 (Unsupported Protocol Version, MQTT 5.0 §3.2.2.2) and closes, and passes any other
 * version through: a stand-in for a broker that understands an MQTT 5 CONNECT well enough
 * to refuse it, the quirk README's fallback promises to survive (a broker that hangs up
 * instead is TcpProxy's `hangUp`).
 */

/** CONNACK, remaining length 3: no session present, reason 0x84, no properties. */
const CONNACK_UNSUPPORTED_VERSION = Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]);

/** What a client asked for in its CONNECT. */
export interface ConnectSeen {
  /** 4: MQTT 3.1.1, 5: MQTT 5. */
  level: number;
  /** Clean Start (MQTT 5) or Clean Session (3.1.1). */
  clean: boolean;
  /** MQTT 5's Session Expiry Interval property (0x11), when sent. */
  sessionExpirySeconds: number | undefined;
}

/** A varint (MQTT's Variable Byte Integer) at `at`: its value and where it ends. */
function varint(bytes: Buffer, at: number): { value: number; end: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= bytes.length) return undefined;
    const b = bytes[at + i]!;
    value += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return { value, end: at + i + 1 };
  }
  return undefined;
}

/** The CONNECT at the start of `bytes` (MQTT 5.0 §3.1), undefined until all of it has arrived. */
function readConnect(bytes: Buffer): ConnectSeen | undefined {
  const remaining = varint(bytes, 1);
  if (!remaining || bytes.length < remaining.end + remaining.value) return undefined;
  let at = remaining.end;
  at += 2 + bytes.readUInt16BE(at); // protocol name
  const level = bytes[at]!;
  const flags = bytes[at + 1]!;
  at += 4; // level, flags, keep alive
  let sessionExpirySeconds: number | undefined;
  if (level === 5) {
    const length = varint(bytes, at)!;
    // Session Expiry Interval comes first when sent (as mqtt.js writes it); look for it anywhere.
    for (let p = length.end; p < length.end + length.value; p++) {
      if (bytes[p] === 0x11) {
        sessionExpirySeconds = bytes.readUInt32BE(p + 1);
        break;
      }
    }
  }
  return { level, clean: (flags & 0x02) !== 0, sessionExpirySeconds };
}

export class VersionGateProxy {
  /** Every CONNECT that came through, in order. */
  readonly connects: ConnectSeen[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
    private readonly refuseMqtt5: boolean,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number, options: { refuseMqtt5?: boolean } = {}): Promise<VersionGateProxy> {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return new VersionGateProxy(server, port, targetPort, options.refuseMqtt5 ?? false);
  }

  private accept(socket: Socket): void {
    socket.on("error", () => undefined);
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const connect = readConnect(head);
      if (connect === undefined) return;
      socket.off("data", onData);
      socket.pause();
      this.connects.push(connect);
      if (connect.level === 5 && this.refuseMqtt5) {
        socket.end(CONNACK_UNSUPPORTED_VERSION);
        return;
      }
      this.forward(socket, head);
    };
    socket.on("data", onData);
  }

  private forward(socket: Socket, head: Buffer): void {
    const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort });
    this.sockets.add(upstream);
    upstream.on("error", () => socket.destroy());
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      socket.destroy();
    });
    socket.on("close", () => upstream.destroy());
    upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.resume();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
