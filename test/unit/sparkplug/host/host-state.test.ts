import { describe, expect, it } from "vitest";
import { stateWill } from "../../../../src/sparkplug/host/host-state.js";
import { HostHarness } from "../../../support/host-harness.js";

/* The host application's own STATE and other hosts' STATE: reference/sparkplug.md §3 A and H. */

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("A our STATE birth and death (tck-id-host-topic-phid-*)", () => {
  it("the Will registered at CONNECT is STATE offline with the connect time, QoS 1, retained", () => {
    const will = stateWill("akri-mqtt-node1", 1_700_000_000_000);
    expect(will).toMatchObject({ topic: "spBv1.0/STATE/akri-mqtt-node1", qos: 1, retain: true });
    expect(JSON.parse(Buffer.from(will.payload).toString())).toStrictEqual({
      online: false,
      timestamp: 1_700_000_000_000,
    });
  });

  it("publishes STATE online with the Will's timestamp once connected and subscribed", () => {
    const h = new HostHarness({ hostId: "me" });
    const step = h.input({ kind: "online", broker: "tcp://b:1883", willTimestamp: 1234 });
    expect(step.commands).toHaveLength(1);
    expect(step.commands[0]).toMatchObject({
      purpose: "state-birth",
      topic: "spBv1.0/STATE/me",
      qos: 1,
      retain: true,
    });
    expect(JSON.parse(Buffer.from(step.commands[0]!.payload).toString())).toStrictEqual({
      online: true,
      timestamp: 1234,
    });
  });

  it("republishes its birth at once when its own offline STATE is delivered after it", () => {
    const h = new HostHarness({ hostId: "me" });
    h.input({ kind: "online", broker: "b", willTimestamp: 1234 });
    h.clear();
    h.deliver({
      topic: "spBv1.0/STATE/me",
      payload: json({ online: false, timestamp: 1000 }),
      qos: 1,
      retain: true,
    });
    expect(h.commands).toHaveLength(1);
    expect(JSON.parse(Buffer.from(h.commands[0]!.payload).toString())).toStrictEqual({
      online: true,
      timestamp: 1234,
    });
    h.clear();
    h.deliver({
      topic: "spBv1.0/STATE/me",
      payload: json({ online: true, timestamp: 1234 }),
      qos: 1,
      retain: true,
    });
    expect(h.commands).toHaveLength(0);
  });

  it("publishes STATE offline with the current time on shutdown", () => {
    const h = new HostHarness({ hostId: "me" });
    h.input({ kind: "online", broker: "b", willTimestamp: 1 });
    h.advance(5000);
    const step = h.input({ kind: "shutdown" });
    expect(step.commands[0]).toMatchObject({ purpose: "state-death", retain: true, qos: 1 });
    expect(JSON.parse(Buffer.from(step.commands[0]!.payload).toString())).toStrictEqual({
      online: false,
      timestamp: h.now,
    });
  });

  it("publishes no STATE when publishState is off", () => {
    const h = new HostHarness({ hostId: "me", publishState: false });
    expect(h.input({ kind: "online", broker: "b", willTimestamp: 1 }).commands).toHaveLength(0);
    expect(h.input({ kind: "shutdown" }).commands).toHaveLength(0);
  });
});

describe("H other hosts' STATE", () => {
  it("tracks 3.0 and 2.2 hosts", () => {
    const h = new HostHarness();
    h.deliver({
      topic: "spBv1.0/STATE/scada",
      payload: json({ online: true, timestamp: 10 }),
      qos: 1,
      retain: true,
    });
    h.deliver({ topic: "STATE/legacy", payload: Buffer.from("ONLINE"), qos: 1, retain: true });
    expect(h.session.hosts.get("3.0:scada")).toMatchObject({ online: true, timestamp: 10 });
    expect(h.session.hosts.get("2.2:legacy")).toMatchObject({ online: true });
  });

  it("ignores an offline STATE older than the host's last online one (a late Will)", () => {
    const h = new HostHarness();
    h.deliver({
      topic: "spBv1.0/STATE/scada",
      payload: json({ online: true, timestamp: 100 }),
      qos: 1,
      retain: true,
    });
    h.deliver({
      topic: "spBv1.0/STATE/scada",
      payload: json({ online: false, timestamp: 50 }),
      qos: 1,
      retain: false,
    });
    expect(h.session.hosts.get("3.0:scada")?.online).toBe(true);
    expect(h.eventsOf("host-state-ignored")).toHaveLength(1);
    h.deliver({
      topic: "spBv1.0/STATE/scada",
      payload: json({ online: false, timestamp: 150 }),
      qos: 1,
      retain: false,
    });
    expect(h.session.hosts.get("3.0:scada")?.online).toBe(false);
  });

  it("handles the same STATE delivered twice by overlapping subscriptions idempotently", () => {
    const h = new HostHarness();
    for (let i = 0; i < 2; i++) {
      h.deliver({
        topic: "spBv1.0/STATE/scada",
        payload: json({ online: true, timestamp: 100 }),
        qos: 1,
        retain: true,
      });
    }
    expect(h.session.hosts.size).toBe(1);
  });
});
