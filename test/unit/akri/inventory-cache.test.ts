import { describe, expect, it } from "vitest";
import { InventoryCache, liveFingerprint } from "../../../src/akri/inventory-cache.js";
import type { DeviceStatus, DiscoveredDevice } from "../../../src/discovery/device.js";

/* /devices bodies are served again only while nothing a person would see has changed. */

const A = "tcp://a:1883";
const B = "tcp://b:1883";

function stream(brokers: string[]) {
  const status = new Map<string, DeviceStatus>();
  const on = new Map<string, string>();
  const connected = new Map(brokers.map((b) => [b, true]));
  const devices: DiscoveredDevice[] = ["d1", "d2"].map((id) => ({ id, kind: "topic", properties: {} }));
  for (const d of devices) {
    status.set(d.id, "online");
    on.set(d.id, brokers[0]!);
  }
  return {
    status,
    on,
    connected,
    shown: {
      lastSent: {
        devices,
        statusOf: (id: string) => status.get(id),
        brokerOf: (id: string) => on.get(id),
      },
      about: { brokers: () => brokers.map((uri) => ({ uri, connected: connected.get(uri)! })) },
    },
  };
}

describe("the /devices fingerprint", () => {
  it("moves when a listed device's status, its broker (with several) or a broker's connection changes, and not otherwise", () => {
    const s = stream([A, B]);
    const at = () => liveFingerprint([s.shown]);
    const first = at();
    expect(at()).toBe(first);
    s.status.set("d2", "stale");
    const stale = at();
    expect(stale).not.toBe(first);
    s.on.set("d1", B);
    const moved = at();
    expect(moved).not.toBe(stale);
    s.connected.set(B, false);
    expect(at()).not.toBe(moved);
  });
});

describe("InventoryCache", () => {
  it("serves a body again for the same key while it is young, and builds anew for a new key or once it is old", () => {
    let now = 0;
    const cache = new InventoryCache(5000, () => now);
    let builds = 0;
    const build = () => `body ${++builds}`;
    expect(cache.get("all", "k1", build)).toBe("body 1");
    now = 4000;
    expect(cache.get("all", "k1", build)).toBe("body 1");
    expect(cache.get("all", "k2", build)).toBe("body 2");
    expect(cache.get("plain", "k2", build)).toBe("body 3");
    now = 9500;
    expect(cache.get("all", "k2", build)).toBe("body 4");
  });
});
