import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./mosquitto.js";
import { parseConnect } from "./mqtt-connect.js";

/*
 * Debian 12's Mosquitto 2.0.11 closes the older of two connections with one client id
 * without a word, MQTT 5 or not. Newer Mosquitto releases (like HiveMQ and EMQX) first send
 * an MQTT 5 client DISCONNECT with reason 0x8E, Session taken over: exactly the bytes
 * E0 01 8E (no properties) that Mosquitto's own test/broker/01-connect-take-over.py expects
 * on the older socket. This proxy, in front of 2.0.11, adds that packet and nothing else:
 * it reads each client's CONNECT as it passes and, when a second MQTT 5 connection arrives
 * with a client id already connected through it, writes the DISCONNECT to the older one
 * before forwarding the new CONNECT; Mosquitto then closes the older connection as usual.
 */

const SESSION_TAKEN_OVER = Buffer.from([0xe0, 0x01, 0x8e]);

export class TakeoverNoticeProxy {
  private readonly sockets = new Set<Socket>();
  private readonly byClientId = new Map<string, { socket: Socket; level: number }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<TakeoverNoticeProxy> {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return new TakeoverNoticeProxy(server, port, targetPort);
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => this.sockets.delete(socket));
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    let head = Buffer.alloc(0);
    const readConnect = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const connect = parseConnect(head);
      if (connect === "incomplete") return;
      client.off("data", readConnect);
      if (connect !== "not-connect") {
        const older = this.byClientId.get(connect.clientId);
        if (older && !older.socket.destroyed && older.level === 5) older.socket.write(SESSION_TAKEN_OVER);
        this.byClientId.set(connect.clientId, { socket: client, level: connect.level });
      }
      upstream.write(head);
      client.pipe(upstream);
    };
    client.on("data", readConnect);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
