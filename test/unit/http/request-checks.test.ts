import { describe, expect, it } from "vitest";
import { hostAllowed } from "../../../src/http/host-header.js";
import { isLoopbackAddress } from "../../../src/http/loopback.js";

describe("who asks, by what name (every HTTP server of ours)", () => {
  it.each([
    "127.0.0.1:8080",
    "[::1]:8080",
    "10.42.0.7",
    "localhost:8080",
    "LOCALHOST",
    "fleet.localhost:8080",
    "akri-sparkplug-a1b2c3-svc",
    "handler.akri.svc",
    "handler.akri.svc.cluster.local:80",
    "plant.example.com",
  ])("accepts a request addressed to %s", (host) => {
    expect(hostAllowed(host, ["plant.example.com"])).toBe(true);
  });

  it.each([undefined, "", "rebind.example.com:8080", "localhost.example.com", "127.0.0.1.nip.io"])(
    "refuses a request addressed to %j (a name a DNS-rebinding page can own)",
    (host) => {
      expect(hostAllowed(host)).toBe(false);
    },
  );

  it.each([
    ["127.0.0.1", true],
    ["127.3.2.1", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["10.222.0.2", false],
    ["::ffff:10.0.0.1", false],
    ["fe80::1", false],
    ["::", false],
    [undefined, false],
  ])("%s is the pod's own loopback: %s", (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});
