import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Instance, ownedFields } from "../support/cluster/instance.js";
import {
  InstanceStore,
  type InstanceStore as Store,
  type WatchEvent,
} from "../support/cluster/instance-store.js";
import { instanceStoreAvailable } from "../support/cluster/instance-store-binary.js";

/*
 * The instance store is Kubernetes server-side apply (structured-merge-diff's Updater, as
 * kube-apiserver calls it) for Akri Instances: these are the SSA rules the multi-node tests
 * rest on, each shown by what the store answers.
 */

const OWNER = {
  apiVersion: "akri.sh/v0",
  kind: "Configuration",
  name: "plant",
  uid: "c0ffee",
  controller: true,
};

/** An Instance as the agent of `node` applies it (device_to_instance + reconcile). */
function instance(name: string, node: string | null, properties: Record<string, string>): Instance {
  return {
    apiVersion: "akri.sh/v0",
    kind: "Instance",
    metadata: { name, ownerReferences: [OWNER] },
    spec: {
      configurationName: "plant",
      cdiName: `akri.sh/plant=${name.slice(-6)}`,
      capacity: 1,
      brokerProperties: properties,
      shared: true,
      nodes: node === null ? [] : [node],
      deviceUsage: {},
    },
  };
}

/** delete_instance's clean copy: name only in metadata, the live spec with nodes = []. */
function released(live: Instance): Instance {
  return {
    apiVersion: "akri.sh/v0",
    kind: "Instance",
    metadata: { name: live.metadata.name },
    spec: { ...live.spec, nodes: [] },
  };
}

async function get(store: Store, name: string): Promise<Instance | undefined> {
  return (await store.list()).find((i) => i.metadata.name === name);
}

describe.skipIf(!instanceStoreAvailable())("the instance store applies as kube-apiserver does", () => {
  let store: InstanceStore;
  const events: WatchEvent[] = [];

  beforeAll(async () => {
    store = await InstanceStore.start();
    store.watch((e) => events.push(e));
  }, 180_000);

  afterAll(async () => {
    await store?.stop();
  });

  it("creates a missing Instance on apply, and lets its only manager change a property", async () => {
    const first = await store.apply(
      "node-a",
      "default",
      instance("plant-000001", "node-a", { URI: "tcp://a" }),
    );
    expect(first.ok).toBe(true);
    const changed = await store.apply(
      "node-a",
      "default",
      instance("plant-000001", "node-a", { URI: "tcp://b" }),
    );
    expect(changed.ok).toBe(true);
    const live = await get(store, "plant-000001");
    expect(live?.spec.brokerProperties).toStrictEqual({ URI: "tcp://b" });
    expect(ownedFields(live!)).toStrictEqual({
      "node-a": [
        `.metadata.ownerReferences[uid="c0ffee"]`,
        ".spec.brokerProperties.URI",
        ".spec.capacity",
        ".spec.cdiName",
        ".spec.configurationName",
        ".spec.deviceUsage",
        `.spec.nodes[="node-a"]`,
        ".spec.shared",
      ],
    });
    expect(events.filter((e) => e.object.metadata.name === "plant-000001").map((e) => e.type)).toStrictEqual([
      "ADDED",
      "MODIFIED",
    ]);
  });

  it("refuses with 409 a change to a value two managers applied, naming the other manager and the field, and writes nothing", async () => {
    await store.apply("node-a", "default", instance("plant-000002", "node-a", { URI: "tcp://a" }));
    await store.apply("node-b", "default", instance("plant-000002", "node-b", { URI: "tcp://a" }));
    const before = await get(store, "plant-000002");
    const refused = await store.apply(
      "node-a",
      "default",
      instance("plant-000002", "node-a", { URI: "tcp://b" }),
    );
    expect(refused).toStrictEqual({
      ok: false,
      code: 409,
      reason: "Conflict",
      message: `Apply failed with 1 conflict: conflict with "node-b": .spec.brokerProperties.URI`,
      conflicts: [{ manager: "node-b", field: ".spec.brokerProperties.URI" }],
    });
    expect(await get(store, "plant-000002")).toStrictEqual(before);
  });

  it("refuses it even when every node agrees on the new value: each is the first to change it", async () => {
    for (const node of ["node-a", "node-b", "node-c"])
      await store.apply(node, "default", instance("plant-000003", node, { URI: "tcp://a" }));
    const results = [];
    for (const node of ["node-a", "node-b", "node-c"])
      results.push(await store.apply(node, "default", instance("plant-000003", node, { URI: "tcp://b" })));
    expect(results.map((r) => (r.ok ? "ok" : r.message))).toStrictEqual([
      `Apply failed with 2 conflicts: conflicts with "node-b":\n- .spec.brokerProperties.URI\nconflicts with "node-c":\n- .spec.brokerProperties.URI`,
      `Apply failed with 2 conflicts: conflicts with "node-a":\n- .spec.brokerProperties.URI\nconflicts with "node-c":\n- .spec.brokerProperties.URI`,
      `Apply failed with 2 conflicts: conflicts with "node-a":\n- .spec.brokerProperties.URI\nconflicts with "node-b":\n- .spec.brokerProperties.URI`,
    ]);
  });

  it("merges each node's entry into nodes (a set) without a conflict, and a re-apply that changes nothing writes nothing", async () => {
    for (const node of ["node-a", "node-b", "node-c"]) {
      const result = await store.apply(node, "default", instance("plant-000004", node, { URI: "tcp://a" }));
      expect(result.ok).toBe(true);
    }
    const live = await get(store, "plant-000004");
    expect(live?.spec.nodes).toStrictEqual(["node-a", "node-b", "node-c"]);
    expect(ownedFields(live!)["node-b"]).toContain(`.spec.nodes[="node-b"]`);
    expect(ownedFields(live!)["node-b"]).not.toContain(`.spec.nodes[="node-a"]`);
    const seen = events.length;
    const again = await store.apply(
      "node-b",
      "default",
      instance("plant-000004", "node-b", { URI: "tcp://a" }),
    );
    expect(again.ok && again.instance.metadata.resourceVersion).toBe(live?.metadata.resourceVersion);
    expect(events.length).toBe(seen);
  });

  it("applying nodes = [] releases only that manager's entry; the last release also drops the owner reference nobody applies any more", async () => {
    for (const node of ["node-a", "node-b", "node-c"])
      await store.apply(node, "default", instance("plant-000005", node, { URI: "tcp://a" }));
    const live = (await get(store, "plant-000005"))!;
    expect((await store.apply("node-b", "default", released(live))).ok).toBe(true);
    const afterB = (await get(store, "plant-000005"))!;
    expect(afterB.spec.nodes).toStrictEqual(["node-a", "node-c"]);
    expect(afterB.metadata.ownerReferences).toStrictEqual([OWNER]);
    expect(ownedFields(afterB)["node-b"]).not.toContain(`.metadata.ownerReferences[uid="c0ffee"]`);
    // node-a and node-c release it at once, from views where all three were still on it.
    expect((await store.apply("node-a", "default", released(live))).ok).toBe(true);
    expect((await store.apply("node-c", "default", released(live))).ok).toBe(true);
    const emptied = (await get(store, "plant-000005"))!;
    expect(emptied.spec.nodes).toStrictEqual([]);
    expect(emptied.metadata.ownerReferences).toBeUndefined();
  });

  it("a DELETE clears every manager's ownership: the next apply may set any value", async () => {
    await store.apply("node-a", "default", instance("plant-000006", "node-a", { URI: "tcp://a" }));
    await store.apply("node-b", "default", instance("plant-000006", "node-b", { URI: "tcp://a" }));
    expect(await store.delete("default", "plant-000006")).toStrictEqual({ ok: true });
    expect(await get(store, "plant-000006")).toBeUndefined();
    expect(events.at(-1)?.type).toBe("DELETED");
    const recreated = await store.apply(
      "node-a",
      "default",
      instance("plant-000006", "node-a", { URI: "tcp://b" }),
    );
    expect(recreated.ok).toBe(true);
    expect(Object.keys(ownedFields((await get(store, "plant-000006"))!))).toStrictEqual(["node-a"]);
    expect(await store.delete("default", "plant-000007")).toMatchObject({ ok: false, code: 404 });
  });
});
