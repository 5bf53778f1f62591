import type { Instance } from "./instance.js";
import type { InstanceStore, WatchEvent } from "./instance-store.js";

/*
 * An agent's `instances_cache`: the kube-runtime reflector Store of the device-plugin
 * Instance controller (agent/src/plugin_manager/device_plugin_instance_controller.rs,
 * start_dpm), which the Configuration controller reads (discovery_configuration_controller.rs,
 * ControllerContext). It lists, then follows the watch; each event reaches it `lagMs` after
 * the write, in order, as a watch stream does. That lag is why agents that reconcile at
 * the same moment act on views of an Instance that are already out of date.
 */
export class InstanceCache {
  private readonly objects = new Map<string, Instance>();
  private readonly unwatch: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Events of writes the list already holds are skipped (a watch starts at the list's version). */
  private listedAt = Number.POSITIVE_INFINITY;

  private constructor(
    store: InstanceStore,
    private readonly lagMs: number,
  ) {
    this.unwatch = store.watch((event) => this.deliver(event));
  }

  static async start(store: InstanceStore, lagMs: number): Promise<InstanceCache> {
    const cache = new InstanceCache(store, lagMs);
    const { items, resourceVersion } = await store.listWithVersion();
    for (const instance of items) cache.objects.set(keyOf(instance), instance);
    cache.listedAt = resourceVersion;
    return cache;
  }

  private deliver(event: WatchEvent): void {
    if (Number(event.object.metadata.resourceVersion) <= this.listedAt) return;
    // Timers of one duration fire in the order they were set: the watch's order is kept.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (event.type === "DELETED") this.objects.delete(keyOf(event.object));
      else this.objects.set(keyOf(event.object), event.object);
    }, this.lagMs);
    this.timers.add(timer);
  }

  /** Store::state(): every cached Instance. */
  state(): Instance[] {
    return [...this.objects.values()];
  }

  stop(): void {
    this.unwatch();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

function keyOf(instance: Instance): string {
  return `${instance.metadata.namespace ?? ""}/${instance.metadata.name}`;
}
