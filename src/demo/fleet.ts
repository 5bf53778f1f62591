import { seededRandom } from "../streams/seeded-random.js";
import { SimulatedEdgeNode } from "./simulated-edge-node.js";

/*
 * The bundled plant of `akri-mqtt demo`: a few groups of edge nodes with devices that
 * send data, die and come back, and edge nodes that stop gracefully, are killed (their
 * Will fires) and reconnect with a new bdSeq, over and over.
 */

export interface FleetOptions {
  groups: string[];
  nodesPerGroup: number;
  devicesPerNode: number;
  seed: number;
  dataIntervalMs: number;
  /** Something happens (a device or node dies or returns) this often. */
  eventIntervalMs: number;
}

export const defaultFleet: FleetOptions = {
  groups: ["Plant-A", "Plant-B", "Plant-C"],
  nodesPerGroup: 8,
  devicesPerNode: 10,
  seed: 2026,
  dataIntervalMs: 2000,
  eventIntervalMs: 1500,
};

export class Fleet {
  readonly nodes: SimulatedEdgeNode[] = [];
  private readonly random: () => number;
  private timers: NodeJS.Timeout[] = [];
  private urls: readonly string[] = [];
  /** Which broker each node is on (an index into `urls`). */
  private readonly on = new Map<SimulatedEdgeNode, number>();

  constructor(
    private readonly options: FleetOptions = defaultFleet,
    private readonly onEvent: (event: string) => void = () => undefined,
  ) {
    this.random = seededRandom(options.seed);
    for (const group of options.groups) {
      for (let n = 1; n <= options.nodesPerGroup; n++) {
        this.nodes.push(
          new SimulatedEdgeNode(
            group,
            `Edge-${String(n).padStart(2, "0")}`,
            options.devicesPerNode,
            this.random,
          ),
        );
      }
    }
  }

  get deviceCount(): number {
    return this.nodes.reduce((n, node) => n + node.deviceCount, 0);
  }

  /** Starts the plant, its nodes spread over `urls` (several: independent brokers they move between). */
  start(urls: readonly string[]): void {
    this.urls = urls;
    for (const [i, node] of this.nodes.entries()) {
      this.on.set(node, i % urls.length);
      node.start(urls[i % urls.length]!);
    }
    this.timers.push(
      setInterval(() => {
        for (const node of this.nodes) node.publishData();
      }, this.options.dataIntervalMs),
    );
    this.timers.push(setInterval(() => this.event(), this.options.eventIntervalMs));
  }

  private event(): void {
    const node = this.nodes[Math.floor(this.random() * this.nodes.length)]!;
    const roll = this.random();
    if (!node.online) {
      if (roll < 0.5) {
        // With several brokers, a node that comes back walks on to the next one.
        const next = ((this.on.get(node) ?? 0) + 1) % this.urls.length;
        this.on.set(node, next);
        node.start(this.urls[next]!);
        this.onEvent(
          this.urls.length > 1
            ? `${node.group}/${node.edge} reconnects to broker ${next + 1} (new bdSeq) and is born there`
            : `${node.group}/${node.edge} reconnects (new bdSeq) and is born`,
        );
      }
      return;
    }
    if (roll < 0.7) {
      const change = node.toggleDevice();
      if (change) this.onEvent(`${node.group}/${node.edge}/${change}`);
    } else if (roll < 0.85) {
      node.stop();
      this.onEvent(`${node.group}/${node.edge} stops gracefully (NDEATH)`);
    } else {
      node.kill();
      this.onEvent(`${node.group}/${node.edge} is killed (its Will fires)`);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const node of this.nodes) node.stop();
  }
}
