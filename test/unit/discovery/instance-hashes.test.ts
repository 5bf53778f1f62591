import { describe, expect, it } from "vitest";
import { deviceHash, InstanceHashes, instanceName } from "../../../src/discovery/device.js";

const device = (id: string) => ({ id, properties: {} });

/** Two ids with the same 24-bit BLAKE2b digest, found by search. */
function collidingIds(): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const id = `spBv1.0/Plant/Edge/${i}`;
    const hash = deviceHash(id);
    const other = seen.get(hash);
    if (other !== undefined) return [other, id];
    seen.set(hash, id);
  }
}

describe("Akri instance names", () => {
  it("match the agent's 3-byte BLAKE2b digests (Akri's own test vectors)", () => {
    expect(deviceHash("my_shared_device")).toBe("4294ea");
    expect(instanceName("akri-debug-echo-foo", "foo0")).toBe("akri-debug-echo-foo-8120fe");
    expect(deviceHash("spBv1.0/plant1/edge1/dev7")).toBe("dfefac");
  });

  it("reports ids that share a hash while both are listed", () => {
    const [a, b] = collidingIds();
    const hashes = new InstanceHashes();
    for (const id of [a, "x", b]) hashes.add(id);
    expect(hashes.collisions([device(a), device("x"), device(b)])).toStrictEqual([[a, b]]);
    expect(hashes.collisions([device(a), device("x")])).toStrictEqual([]);
  });
});
