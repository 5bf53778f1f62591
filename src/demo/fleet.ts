import { seededRandom } from "../streams/seeded-random.js";
import { SimulatedEdgeNode } from "./simulated-edge-node.js";

/*
 * The bundled plant of `akri-mqtt demo`: a few groups of edge nodes with devices that send
 * data, die and are reborn, and edge nodes that stop gracefully, are killed (their Will fires)
 * and come back with a new bdSeq, over and over, while most of the plant stays listed.
 *
 * The event process. Every tick, outages that are due end (a node connects and is born, a
 * device is reborn), then at most one begins: a node goes down (half stop with an NDEATH, half
 * are killed) with chance 0.15, a device on a live node dies with chance 0.45. Every outage
 * ends by itself after a number of ticks drawn when it begins, so by Little's law the mean
 * number down is (outages begun per tick) × (mean ticks down):
 *   nodes:   0.15 × 6 (4–8 ticks)  = 0.9 of 24 down: 9 of 240 devices unlisted with them,
 *   devices: 0.45 × 8 (4–12 ticks) = 3.6 dead,
 * so about 12.6 of 240 devices (5%) are unlisted on average, 95% listed: the caps below only
 * lower those rates. Whatever the dice, an outage begins only while fewer than 2 nodes are down
 * (a node that is reconnecting counts as down) and fewer than 6 devices are dead, so at most
 * 2 × 10 + 6 = 26 of 240 are unlisted at once (≥ 89% listed); even in the instant a node is
 * back but its NBIRTH not yet read as another dies, 3 × 10 + 6 = 36 (85%).
 * Each tick begins an outage with chance 0.6 and ends as many on average, so births and deaths
 * are about as frequent: 1.5 s ticks make some 24 deaths and 24 births a minute, 6 of each a
 * node's. The plant starts in that steady state (a node still to connect, a few devices dead),
 * so the first events are births as well as deaths.
 */

export interface FleetOptions {
  groups: string[];
  nodesPerGroup: number;
  devicesPerNode: number;
  seed: number;
  dataIntervalMs: number;
  /** The event process steps this often (see above). */
  tickMs: number;
}

export const defaultFleet: FleetOptions = {
  groups: ["Plant-A", "Plant-B", "Plant-C"],
  nodesPerGroup: 8,
  devicesPerNode: 10,
  seed: 2026,
  dataIntervalMs: 2000,
  tickMs: 1500,
};

/** How one kind of outage begins and how long it lasts, in ticks. */
interface OutageKind {
  chance: number;
  minTicks: number;
  maxTicks: number;
  /** No outage of this kind begins while this many are under way. */
  atMost: number;
}

const NODE_OUTAGE: OutageKind = { chance: 0.15, minTicks: 4, maxTicks: 8, atMost: 2 };
const DEVICE_OUTAGE: OutageKind = { chance: 0.45, minTicks: 4, maxTicks: 12, atMost: 6 };

interface Outage {
  /** The tick it ends at. */
  until: number;
  end: () => void;
}

export class Fleet {
  readonly nodes: SimulatedEdgeNode[] = [];
  private readonly random: () => number;
  private timers: NodeJS.Timeout[] = [];
  private urls: readonly string[] = [];
  /** Which broker each node is on (an index into `urls`). */
  private readonly on = new Map<SimulatedEdgeNode, number>();
  private ticks = 0;
  private outages: Outage[] = [];

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
    // Start as the steady state looks: one node still to connect and a few devices dead.
    const late = this.pick(this.nodes);
    for (let i = 0; i < 3; i++) {
      const node = this.pick(this.nodes.filter((n) => n !== late));
      const device = node?.deviceDies();
      if (node && device) this.schedule(1 + i * 2, () => this.deviceReborn(node, device));
    }
    for (const [i, node] of this.nodes.entries()) {
      this.on.set(node, i % urls.length);
      if (node === late) this.schedule(3, () => this.connect(node, i % urls.length));
      else node.start(urls[i % urls.length]!);
    }
    this.timers.push(
      setInterval(() => {
        for (const node of this.nodes) node.publishData();
      }, this.options.dataIntervalMs),
    );
    this.timers.push(setInterval(() => this.tick(), this.options.tickMs));
  }

  private tick(): void {
    this.ticks++;
    const due = this.outages.filter((o) => o.until <= this.ticks);
    this.outages = this.outages.filter((o) => o.until > this.ticks);
    for (const outage of due) outage.end();
    const roll = this.random();
    if (roll < NODE_OUTAGE.chance) this.nodeOutage();
    else if (roll < NODE_OUTAGE.chance + DEVICE_OUTAGE.chance) this.deviceOutage();
  }

  private nodeOutage(): void {
    const down = this.nodes.filter((n) => !n.online).length;
    const node = this.pick(this.nodes.filter((n) => n.online));
    if (!node || down >= NODE_OUTAGE.atMost) return;
    const name = `${node.group}/${node.edge}`;
    if (this.random() < 0.5) {
      node.stop();
      this.onEvent(`${name} stops gracefully (NDEATH)`);
    } else {
      node.kill();
      this.onEvent(`${name} is killed: its connection cut, its Will (NDEATH) fires`);
    }
    // With several brokers, a node that comes back walks on to the next one.
    const next = ((this.on.get(node) ?? 0) + 1) % this.urls.length;
    this.schedule(this.duration(NODE_OUTAGE), () => this.connect(node, next));
  }

  private connect(node: SimulatedEdgeNode, broker: number): void {
    this.on.set(node, broker);
    node.start(this.urls[broker]!);
    const where = this.urls.length > 1 ? ` to broker ${broker + 1}` : "";
    this.onEvent(
      `${node.group}/${node.edge} connects${where} (bdSeq ${node.sessionBdSeq}) and is born (NBIRTH)`,
    );
  }

  private deviceOutage(): void {
    const dead = this.nodes.reduce((n, node) => n + node.deadDevices, 0);
    const node = this.pick(this.nodes.filter((n) => n.online));
    if (!node || dead >= DEVICE_OUTAGE.atMost) return;
    const device = node.deviceDies();
    if (device === undefined) return;
    this.onEvent(`${node.group}/${node.edge}/${device} dies (DDEATH)`);
    this.schedule(this.duration(DEVICE_OUTAGE), () => this.deviceReborn(node, device));
  }

  private deviceReborn(node: SimulatedEdgeNode, device: string): void {
    // On a node that is down, the device is born with the node's next births instead.
    if (node.deviceReborn(device)) this.onEvent(`${node.group}/${node.edge}/${device} is reborn (DBIRTH)`);
  }

  private schedule(ticks: number, end: () => void): void {
    this.outages.push({ until: this.ticks + ticks, end });
  }

  private duration(kind: OutageKind): number {
    return kind.minTicks + Math.floor(this.random() * (kind.maxTicks - kind.minTicks + 1));
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.random() * items.length)];
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const node of this.nodes) node.stop();
  }
}
