import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./mosquitto.js";
import { type ConnectPacket, parseConnect } from "./mqtt-connect.js";

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

export class VersionGateProxy {
  /** Every CONNECT that came through, in order. */
  readonly connects: Omit<ConnectPacket, "clientId">[] = [];
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
      const connect = parseConnect(head);
      if (connect === "incomplete") return;
      socket.off("data", onData);
      socket.pause();
      if (connect === "not-connect") {
        socket.destroy();
        return;
      }
      const { clientId: _, ...asked } = connect;
      this.connects.push(asked);
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
