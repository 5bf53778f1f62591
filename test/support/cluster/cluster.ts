import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deviceHash } from "../../../src/discovery/device.js";
import { HandlerProcess } from "../handler-process.js";
import { eventually } from "../live-host.js";
import type { Configuration, WriteRecord } from "./configuration-controller.js";
import type { Instance } from "./instance.js";
import { InstanceStore } from "./instance-store.js";
import { StandInAgent } from "./stand-in-agent.js";

/*
 * A test Kubernetes cluster running Akri with akri-mqtt as a DaemonSet: one InstanceStore
 * (the API server), and on every node its own handlers' directory (its socket, its
 * node-id file), a stand-in Akri agent (field manager = the node's name) and a real
 * `akri-mqtt serve` process registered with it.
 */

export interface ClusterNode {
  name: string;
  directory: string;
  agent: StandInAgent;
  handler: HandlerProcess;
}

/** A listed device as an agent holds it. */
export interface ListedDevice {
  id: string;
  properties: Record<string, string>;
}

/** Each agent's watch lags the store by a different, small amount, as real reflectors do. */
const CACHE_LAGS_MS = [5, 20, 40];

export class Cluster {
  private constructor(
    readonly store: InstanceStore,
    readonly nodes: ClusterNode[],
  ) {}

  static async start(names = ["node-a", "node-b", "node-c"]): Promise<Cluster> {
    const store = await InstanceStore.start();
    const nodes: ClusterNode[] = [];
    const cluster = new Cluster(store, nodes);
    try {
      for (const [i, name] of names.entries()) {
        const directory = await mkdtemp(join(tmpdir(), `akri-cluster-${name}-`));
        const agent = await StandInAgent.start({
          node: name,
          directory,
          store,
          cacheLagMs: CACHE_LAGS_MS[i % CACHE_LAGS_MS.length]!,
        });
        // No AGENT_NODE_NAME: Akri's chart does not give the handler one, so each node's
        // handler makes its MQTT identity once and keeps it in its own directory.
        const handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "" });
        nodes.push({ name, directory, agent, handler });
      }
      await Promise.all(
        nodes.map((n) => eventually(() => n.agent.registrations.length > 0, `${n.name} registered`, 15_000)),
      );
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** A Configuration for handler `mqtt` in namespace default. */
  configuration(
    name: string,
    discoveryDetails: string,
    brokerProperties: Record<string, string> = {},
  ): Configuration {
    return {
      name,
      namespace: "default",
      uid: randomUUID(),
      discoveryHandlerName: "mqtt",
      discoveryDetails,
      brokerProperties,
      capacity: 1,
    };
  }

  /** `kubectl apply` of a Configuration: every node's agent reconciles it. */
  apply(configuration: Configuration): void {
    for (const node of this.nodes) node.agent.applyConfiguration(configuration);
  }

  /** The Configuration deleted: every agent ends its request. */
  delete(name: string): void {
    for (const node of this.nodes) node.agent.deleteConfiguration(name);
  }

  /** Every Instance write of every agent for a Configuration, in order. */
  writes(configuration: string): WriteRecord[] {
    return this.nodes
      .flatMap((n) => n.agent.writes)
      .filter((w) => w.configuration === configuration)
      .sort((a, b) => a.at - b.at);
  }

  /** Every write the API server refused with 409, as `<node> <op> <instance>: <the server's message>`. */
  conflicts(configuration: string): string[] {
    return this.writes(configuration)
      .filter((w) => w.code === 409)
      .map((w) => `${w.node} ${w.op} ${w.instance}: ${w.message}`);
  }

  /** What each node's agent discovers for a Configuration (undefined: it has no request). */
  discovered(configuration: string): Record<string, ListedDevice[] | undefined> {
    return Object.fromEntries(
      this.nodes.map((n) => [
        n.name,
        n.agent.discovered(configuration)?.map((d) => ({ id: d.id, properties: d.properties })),
      ]),
    );
  }

  /** The Configuration's Instances in the store (by spec.configurationName: owned or not). */
  async instances(configuration: string): Promise<Instance[]> {
    return (await this.store.list()).filter((i) => i.spec.configurationName === configuration);
  }

  /**
   * What keeps the cluster from being settled for a Configuration, empty when it is: every
   * agent has a request and they discover the same devices; each listed device has
   * exactly one Instance (its name is the device's hash), on every node, holding the
   * device's properties extended by the Configuration's; any other Instance of the
   * Configuration is on no node (Akri's own race can leave one emptied behind).
   */
  async problems(configuration: Configuration): Promise<string[]> {
    const problems: string[] = [];
    const lists = this.discovered(configuration.name);
    const canonical = (list: ListedDevice[]) =>
      JSON.stringify(
        [...list].sort((a, b) => (a.id < b.id ? -1 : 1)).map((d) => [d.id, sortedObject(d.properties)]),
      );
    const first = this.nodes[0]!.name;
    for (const node of this.nodes) {
      const list = lists[node.name];
      if (list === undefined) problems.push(`${node.name}'s agent has no request for ${configuration.name}`);
      else if (canonical(list) !== canonical(lists[first] ?? []))
        problems.push(
          `${node.name} discovers ${canonical(list)} but ${first} ${canonical(lists[first] ?? [])}`,
        );
    }
    const instances = await this.instances(configuration.name);
    const everyNode = this.nodes.map((n) => n.name).sort();
    const listedNames = new Set<string>();
    for (const device of lists[first] ?? []) {
      const name = `${configuration.name}-${deviceHash(device.id)}`;
      listedNames.add(name);
      const instance = instances.find((i) => i.metadata.name === name);
      if (!instance) {
        problems.push(`no Instance ${name} for ${device.id}`);
        continue;
      }
      if (JSON.stringify([...instance.spec.nodes].sort()) !== JSON.stringify(everyNode))
        problems.push(
          `${name} (${device.id}) is on ${JSON.stringify(instance.spec.nodes)}, not on every node`,
        );
      const expected = sortedObject({ ...device.properties, ...configuration.brokerProperties });
      if (JSON.stringify(sortedObject(instance.spec.brokerProperties)) !== JSON.stringify(expected))
        problems.push(
          `${name} (${device.id}) holds ${JSON.stringify(sortedObject(instance.spec.brokerProperties))}, the device ${JSON.stringify(expected)}`,
        );
    }
    for (const instance of instances)
      if (!listedNames.has(instance.metadata.name) && instance.spec.nodes.length > 0)
        problems.push(
          `${instance.metadata.name} (no longer listed) is still on ${JSON.stringify(instance.spec.nodes)}`,
        );
    return problems;
  }

  /**
   * Waits until the Configuration is settled and `also` holds, or until any write got a
   * 409 (then the test's assertion on conflicts shows it); on a timeout, says what was
   * still wrong.
   */
  async settle(
    configuration: Configuration,
    what: string,
    also: (devices: ListedDevice[]) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string[] = [];
    for (;;) {
      if (this.conflicts(configuration.name).length > 0) return;
      last = await this.problems(configuration);
      const devices = this.discovered(configuration.name)[this.nodes[0]!.name] ?? [];
      if (last.length === 0 && also(devices)) return;
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; still: ${last.length > 0 ? last.join("; ") : `not yet (devices: ${JSON.stringify(devices)})`}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A handler pod restarted: SIGTERM, then `akri-mqtt serve` again on the same directory. */
  async stopHandler(name: string): Promise<void> {
    await this.node(name).handler.stop();
  }

  async startHandler(name: string): Promise<void> {
    const node = this.node(name);
    node.handler = await HandlerProcess.start(node.directory, { AGENT_NODE_NAME: "" });
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.handler.stop().catch(() => undefined);
    for (const node of this.nodes) await node.agent.stop().catch(() => undefined);
    await this.store.stop();
    for (const node of this.nodes) await rm(node.directory, { recursive: true, force: true });
  }
}

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
