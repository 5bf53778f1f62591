import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./mosquitto.js";

/*
 * A TCP proxy in front of a broker that reads each connection's CONNECT and notes its
 * protocol level (4: MQTT 3.1.1, 5: MQTT 5), so a test can see which versions a client
 * tried. With `refuseMqtt5` it answers an MQTT 5 CONNECT itself with a CONNACK of reason
 * 0x84 (Unsupported Protocol Version, MQTT 5.0 §3.2.2.2) and closes, and passes any other
 * version through: a stand-in for a broker that understands an MQTT 5 CONNECT well enough
 * to refuse it, the quirk README's fallback promises to survive (a broker that hangs up
 * instead is TcpProxy's `hangUp`).
 */

/** CONNACK, remaining length 3: no session present, reason 0x84, no properties. */
const CONNACK_UNSUPPORTED_VERSION = Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]);

/**
 * The protocol level of a CONNECT at the start of `bytes` (fixed header, remaining length,
 * protocol name, level), undefined until enough has arrived.
 */
function connectLevel(bytes: Buffer): number | undefined {
  if (bytes.length < 2) return undefined;
  let at = 1;
  while (at < bytes.length && at < 5 && (bytes[at]! & 0x80) !== 0) at++; // remaining length varint
  at++;
  if (bytes.length < at + 2) return undefined;
  const nameLength = bytes.readUInt16BE(at);
  const levelAt = at + 2 + nameLength;
  return levelAt < bytes.length ? bytes[levelAt] : undefined;
}

export class VersionGateProxy {
  /** The protocol level of every CONNECT that came through, in order. */
  readonly connectLevels: number[] = [];
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
      const level = connectLevel(head);
      if (level === undefined) return;
      socket.off("data", onData);
      socket.pause();
      this.connectLevels.push(level);
      if (level === 5 && this.refuseMqtt5) {
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
