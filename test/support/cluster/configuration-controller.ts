import type { DiscoveryRegistry } from "./discovery-registry.js";
import { type Instance, type OwnerReference, sameOwnerReference } from "./instance.js";
import type { InstanceCache } from "./instance-cache.js";
import type { ApplyResult, DeleteResult, InstanceStore } from "./instance-store.js";

/*
 * The agent's Configuration controller, as Akri 0.13.26 runs it
 * (agent/src/util/discovery_configuration_controller.rs: reconcile, error_policy,
 * delete_instance) under kube-runtime's Controller: one reconcile of a Configuration at a
 * time; a request that comes while one runs waits and runs right after; a requeue and a
 * request merge, the earliest wins.
 */

/** An Akri Configuration, as far as the agent's discovery reads it. */
export interface Configuration {
  name: string;
  namespace: string;
  uid: string;
  discoveryHandlerName: string;
  discoveryDetails: string;
  discoveryProperties?: Record<string, Buffer | undefined>;
  brokerProperties: Record<string, string>;
  capacity: number;
}

/** One write an agent made, for tests to read ("no apply ever got 409"). */
export interface WriteRecord {
  at: number;
  node: string;
  configuration: string;
  instance: string;
  /** "apply" of a discovered Instance, "release" (apply with nodes=[]) or "delete" (delete_instance). */
  op: "apply" | "release" | "delete";
  ok: boolean;
  code?: number;
  message?: string;
  /** For an apply: the brokerProperties and nodes it sent. */
  sent?: Pick<Instance["spec"], "brokerProperties" | "nodes">;
}

/** SUCCESS_REQUEUE. */
const SUCCESS_REQUEUE_MS = 600_000;
/** error_policy's starting point: the first retry is twice this. */
const FIRST_BACKOFF_BASE_MS = 500;

class ReconcileError extends Error {}

interface Slot {
  configuration: Configuration;
  running: boolean;
  /** A request came during the running reconcile. */
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /** error_backoffs: the last requeue delay after an error, absent after a success. */
  backoffMs: number | undefined;
  deleted: boolean;
}

export class ConfigurationController {
  private readonly slots = new Map<string, Slot>();
  /** Each reconcile's outcome (ok, or the error), newest last. */
  readonly outcomes: { at: number; configuration: string; ok: boolean; error?: string; retryInMs: number }[] =
    [];

  constructor(
    private readonly node: string,
    private readonly registry: DiscoveryRegistry,
    private readonly cache: InstanceCache,
    private readonly store: InstanceStore,
    private readonly record: (write: WriteRecord) => void,
  ) {}

  /** The Configuration was created or changed: reconcile it now. */
  apply(configuration: Configuration): void {
    const slot = this.slots.get(configuration.name);
    if (slot) slot.configuration = configuration;
    else
      this.slots.set(configuration.name, {
        configuration,
        running: false,
        again: false,
        timer: undefined,
        timerAt: Number.POSITIVE_INFINITY,
        backoffMs: undefined,
        deleted: false,
      });
    this.request(configuration.name);
  }

  /**
   * The Configuration is being deleted: reconcile's deletion branch terminates the request
   * (the finalizer it removes is not modelled), and nothing is reconciled for it again.
   */
  delete(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    slot.deleted = true;
    clearTimeout(slot.timer);
    this.slots.delete(name);
    this.registry.terminateRequest(name);
  }

  /** reconcile_on: a reconcile now, or right after the one running. */
  request(name: string): void {
    const slot = this.slots.get(name);
    if (!slot || slot.deleted) return;
    if (slot.running) slot.again = true;
    else this.setTimer(slot, 0);
  }

  private setTimer(slot: Slot, delayMs: number): void {
    const at = Date.now() + delayMs;
    if (slot.timer !== undefined && slot.timerAt <= at) return; // the earliest wins
    clearTimeout(slot.timer);
    slot.timerAt = at;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      slot.timerAt = Number.POSITIVE_INFINITY;
      void this.run(slot);
    }, delayMs);
  }

  private async run(slot: Slot): Promise<void> {
    if (slot.deleted) return;
    slot.running = true;
    slot.again = false;
    const name = slot.configuration.name;
    let retryInMs: number;
    try {
      await this.reconcile(slot.configuration);
      slot.backoffMs = undefined;
      retryInMs = SUCCESS_REQUEUE_MS;
      this.outcomes.push({ at: Date.now(), configuration: name, ok: true, retryInMs });
    } catch (e) {
      // error_policy: 500 ms doubled at every consecutive error (1 s, 2 s, 4 s, …), no cap.
      retryInMs = (slot.backoffMs ?? FIRST_BACKOFF_BASE_MS) * 2;
      slot.backoffMs = retryInMs;
      this.outcomes.push({ at: Date.now(), configuration: name, ok: false, error: String(e), retryInMs });
    }
    slot.running = false;
    if (slot.deleted) return;
    // A request that came meanwhile runs now: it is earlier than the requeue.
    this.setTimer(slot, slot.again ? 0 : retryInMs);
    slot.again = false;
  }

  /**
   * reconcile: with no request yet, make one (querying every endpoint) and take this round's
   * discovered list as EMPTY; else its Instances, each with nodes = [this node], the
   * Configuration as owner and its capacity. Then delete_instance for every cached Instance
   * the Configuration owns that was not discovered, and apply every discovered one in order;
   * the first error ends the reconcile (`?`).
   */
  private async reconcile(configuration: Configuration): Promise<void> {
    const owner: OwnerReference = {
      apiVersion: "akri.sh/v0",
      kind: "Configuration",
      name: configuration.name,
      uid: configuration.uid,
      controller: true,
    };
    let discovered: Instance[];
    const request = this.registry.getRequest(configuration.name);
    if (request) {
      request.setExtraDeviceProperties(configuration.brokerProperties);
      discovered = request.instances().map((instance) => ({
        ...instance,
        metadata: {
          ...instance.metadata,
          ownerReferences: [...(instance.metadata.ownerReferences ?? []), owner],
        },
        spec: { ...instance.spec, nodes: [this.node], capacity: configuration.capacity },
      }));
    } else {
      await this.registry.newRequest({
        key: configuration.name,
        handlerName: configuration.discoveryHandlerName,
        details: configuration.discoveryDetails,
        properties: configuration.discoveryProperties ?? {},
        extraDeviceProperties: configuration.brokerProperties,
      });
      discovered = [];
    }

    for (const instance of this.cache.state()) {
      const owned = (instance.metadata.ownerReferences ?? []).some((o) => sameOwnerReference(o, owner));
      if (owned && !discovered.some((d) => d.metadata.name === instance.metadata.name))
        await this.deleteInstance(configuration, instance);
    }

    for (const instance of discovered) {
      const result = await this.store.apply(this.node, configuration.namespace, instance);
      this.recordApply(configuration, instance, "apply", result);
      if (!result.ok) throw new ReconcileError(result.message);
    }
  }

  /**
   * delete_instance: only an Instance that lists this node. Alone on it: DELETE. Else apply
   * a clean copy of the cached spec with nodes = [] (name and namespace only in metadata:
   * no ownerReferences, so the last node to release it drops the owner too).
   */
  private async deleteInstance(configuration: Configuration, instance: Instance): Promise<void> {
    if (!instance.spec.nodes.includes(this.node)) return;
    const namespace = instance.metadata.namespace ?? configuration.namespace;
    if (instance.spec.nodes.length === 1) {
      const result = await this.store.delete(namespace, instance.metadata.name);
      this.recordDelete(configuration, instance, result);
      if (!result.ok) throw new ReconcileError(result.message);
      return;
    }
    const clean: Instance = {
      apiVersion: "akri.sh/v0",
      kind: "Instance",
      metadata: { name: instance.metadata.name, namespace },
      spec: { ...instance.spec, nodes: [] },
    };
    const result = await this.store.apply(this.node, namespace, clean);
    this.recordApply(configuration, clean, "release", result);
    if (!result.ok) throw new ReconcileError(result.message);
  }

  private recordApply(
    configuration: Configuration,
    instance: Instance,
    op: "apply" | "release",
    result: ApplyResult,
  ): void {
    this.record({
      at: Date.now(),
      node: this.node,
      configuration: configuration.name,
      instance: instance.metadata.name,
      op,
      ok: result.ok,
      ...(result.ok ? {} : { code: result.code, message: result.message }),
      sent: { brokerProperties: instance.spec.brokerProperties, nodes: instance.spec.nodes },
    });
  }

  private recordDelete(configuration: Configuration, instance: Instance, result: DeleteResult): void {
    this.record({
      at: Date.now(),
      node: this.node,
      configuration: configuration.name,
      instance: instance.metadata.name,
      op: "delete",
      ok: result.ok,
      ...(result.ok ? {} : { code: result.code, message: result.message }),
    });
  }

  stop(): void {
    for (const slot of this.slots.values()) {
      slot.deleted = true;
      clearTimeout(slot.timer);
    }
    this.slots.clear();
  }
}
