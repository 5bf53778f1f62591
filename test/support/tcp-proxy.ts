import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./mosquitto.js";

/*
 * TCP between a client and a broker that a test can cut (a network partition: the client
 * loses the broker while everyone else stays connected), turn into a black hole that
 * accepts connections and never answers, or into a listener that reads the CONNECT and hangs
 * up without a CONNACK, whatever the MQTT version (what RabbitMQ 3.10 does to MQTT 5 only),
 * or hold the broker's answers on the connections it has.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  /** Each broker-side connection and the client it answers. */
  private readonly answers = new Map<Socket, Socket>();
  private mode: "forward" | "refuse" | "blackhole" | "hangup" = "forward";

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number | undefined,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** A proxy to `targetPort`, or with no target a black hole from the start. */
  static async start(targetPort?: number): Promise<TcpProxy> {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const proxy = new TcpProxy(server, port, targetPort);
    if (targetPort === undefined) proxy.mode = "blackhole";
    return proxy;
  }

  private accept(socket: Socket): void {
    socket.on("error", () => undefined);
    if (this.mode === "refuse") {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    if (this.mode === "blackhole") return; // read nothing, say nothing
    if (this.mode === "hangup") {
      socket.once("data", () => socket.end()); // the CONNECT arrives; FIN, not a word
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort! });
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    this.sockets.add(upstream);
    this.answers.set(upstream, socket);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      this.answers.delete(upstream);
    });
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  /**
   * The broker's answers (acknowledgements included) stop reaching the clients already
   * connected, until `release`: a broker that has stopped answering, the connection still up.
   */
  hold(): void {
    for (const upstream of this.answers.keys()) {
      upstream.unpipe();
      upstream.pause();
    }
  }

  /** What `hold` kept goes through, and what follows. */
  release(): void {
    for (const [upstream, socket] of this.answers) upstream.pipe(socket);
  }

  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void {
    this.mode = "refuse";
    for (const socket of this.sockets) socket.destroy();
  }

  /** From now on, every new connection is hung up on once its CONNECT arrives. */
  hangUp(): void {
    this.mode = "hangup";
  }

  restore(): void {
    this.mode = this.targetPort === undefined ? "blackhole" : "forward";
  }

  get connections(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
