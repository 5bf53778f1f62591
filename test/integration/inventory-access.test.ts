import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentRequest, TestAgent } from "../support/akri-agent.js";
import { runCli } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { type Answer, hostGet, NetworkNamespace, netnsAvailable } from "../support/netns.js";
import { TahuEdgeNode, type TahuMetric } from "../support/tahu-edge.js";

/*
 * Who may read the plant inventory of `akri-mqtt serve` (/, its files, /devices, /events, /activity),
 * asked from another address for real: a client in a network namespace of its own, joined
 * to the test's by a veth pair, as another pod in the cluster reaches a handler pod's IP.
 * The handler binds 0.0.0.0 as Akri's chart runs it (no arguments). By default only the
 * pod's own loopback (where `kubectl port-forward` connects) sees the inventory; /healthz
 * and /metrics answer everyone; a Configuration with `inventoryAccess: cluster` opens its
 * own stream and nothing else; requests addressed to a name that is not ours are refused
 * (DNS rebinding through a port-forward); event streams are capped; nothing is sniffed.
 */

const motor: TahuMetric[] = [{ name: "Speed", alias: 1, type: "Double", value: 1 }];
const INVENTORY = ["/", "/fleet.js", "/fleet.css", "/devices", "/devices?all=true", "/events", "/activity"];
/** The handler's cap on open /events clients. */
const EVENT_STREAMS = 32;

interface StreamJson {
  stream: number;
  devices: { id: string }[];
  unlisted?: { id: string }[];
}

function ids(body: string): string[] {
  return (JSON.parse(body) as StreamJson[]).flatMap((s) => [
    ...s.devices.map((d) => d.id),
    ...(s.unlisted ?? []).map((d) => d.id),
  ]);
}

function expectRefused(answer: Answer, why: RegExp): void {
  expect(answer.status).toBe(403);
  expect(answer.body).toMatch(why);
  // One line, that says why and what to do.
  expect(answer.body.trimEnd().split("\n")).toHaveLength(1);
  expect(answer.headers["x-content-type-options"]).toBe("nosniff");
}

describe.skipIf(!mosquittoAvailable() || !netnsAvailable())(
  "the plant inventory from the pod's loopback and from another address",
  () => {
    let namespace: NetworkNamespace;
    let broker: Mosquitto;
    let handler: HandlerProcess;
    let agent: TestAgent;
    const nodes: TahuEdgeNode[] = [];
    let closed: AgentRequest;
    let open: AgentRequest;
    /** The handler as another pod sees it: through its pod IP. */
    let remote: string;

    const details = (group: string, extra = "") => `serverUrls: [${broker.url}]
configurationName: ${group.toLowerCase()}
sparkplug:
  groupIds: {action: Include, items: [${group}]}
${extra}`;

    beforeAll(async () => {
      namespace = await NetworkNamespace.create();
      broker = await Mosquitto.start();
      const directory = await mkdtemp(join(tmpdir(), "akri-inventory-"));
      // Bound where Akri's chart leaves it: every address of the pod.
      handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" }, [
        "--http-host",
        "0.0.0.0",
      ]);
      agent = new TestAgent(directory);
      await agent.start();
      await agent.waitForRegistrations(1);
      remote = `http://${namespace.hostAddress}:${handler.httpPort}`;
    });

    /**
     * An edge node of `group` with one device, Motor, started once its Configuration's
     * stream has sent its first list (subscribed, so it sees the births).
     */
    const edgeNode = async (group: string, request: AgentRequest) => {
      await eventually(() => (request.calls[0]?.lists.length ?? 0) >= 1, `${group}'s first list`);
      const node = await TahuEdgeNode.start({
        url: broker.url,
        group,
        edge: "Line",
        devices: { Motor: motor },
      });
      nodes.push(node);
      return node;
    };

    afterAll(async () => {
      closed?.terminate();
      open?.terminate();
      for (const node of nodes) await node.stop().catch(() => undefined);
      await handler?.stop();
      await agent?.stop();
      await broker?.stop();
      await namespace?.destroy();
    });

    it("answers /healthz and /metrics from another address, and refuses the inventory there with a 403 that says how to open it", async () => {
      closed = agent.apply("closed", details("Closed"));
      await edgeNode("Closed", closed);
      await closed.waitForIds(["spBv1.0/Closed/Line/Motor"], "the closed Configuration's device");

      const health = await namespace.get(`${remote}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await namespace.get(`${remote}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^akri_mqtt_discover_streams 1$/m);
      for (const path of INVENTORY)
        expectRefused(await namespace.get(`${remote}${path}`), /loopback.*inventoryAccess: cluster/);
      // The pod's own loopback (kubectl port-forward) sees it all.
      expect(ids((await hostGet(`${handler.url}/devices`)).body)).toStrictEqual([
        "spBv1.0/Closed/Line/Motor",
      ]);
    });

    it("a Configuration with inventoryAccess: cluster opens its own stream to other addresses, and no other", async () => {
      open = agent.apply("open", details("Open", "inventoryAccess: cluster\n"));
      await edgeNode("Open", open);
      await open.waitForIds(["spBv1.0/Open/Line/Motor"], "the open Configuration's device");

      for (const path of ["/devices", "/devices?all=true"]) {
        const answer = await namespace.get(`${remote}${path}`);
        expect(answer.status).toBe(200);
        expect(ids(answer.body)).toContain("spBv1.0/Open/Line/Motor");
        expect(answer.body).not.toContain("Closed");
      }
      // The chart's counts per minute: the open stream's only, as /devices.
      const streamsIn = (body: string) => (JSON.parse(body) as { stream: number }[]).map((s) => s.stream);
      const activity = await namespace.get(`${remote}/activity`);
      expect(activity.status).toBe(200);
      expect(streamsIn(activity.body)).toStrictEqual(
        streamsIn((await namespace.get(`${remote}/devices`)).body),
      );
      expect(streamsIn((await hostGet(`${handler.url}/activity`)).body)).toStrictEqual(
        streamsIn((await hostGet(`${handler.url}/devices`)).body),
      );
      const page = await namespace.get(`${remote}/`);
      expect(page.status).toBe(200);
      expect(page.headers["content-security-policy"]).toBeDefined();
      // Loopback still sees both.
      expect(ids((await hostGet(`${handler.url}/devices`)).body).sort()).toStrictEqual([
        "spBv1.0/Closed/Line/Motor",
        "spBv1.0/Open/Line/Motor",
      ]);

      // The feed: the open stream's events, none of the closed one's. Events go out in the
      // order they happen, so once the open node's death is in, the closed one's (before it)
      // would have been too.
      const feed = namespace.events(`${remote}/events`);
      try {
        await eventually(() => feed.status !== undefined, "the event stream's answer");
        expect(feed.status).toBe(200);
        const subjects = () => feed.events.map((e) => (e as { subject: string | null }).subject ?? "");
        await eventually(
          () => subjects().includes("spBv1.0/Open/Line/Motor"),
          "the open device's birth from the backlog",
        );
        nodes[0]!.deviceDeath("Motor");
        await closed.waitForIds([], "the closed device died");
        nodes[1]!.deviceDeath("Motor");
        await eventually(
          () => feed.events.some((e) => (e as { kind: string }).kind === "device-died"),
          "the open device's death in the feed",
        );
        expect(subjects().filter((s) => s.includes("Closed"))).toStrictEqual([]);
        expect(subjects().filter((s) => s.includes("Open")).length).toBeGreaterThan(1);
      } finally {
        feed.close();
      }
    });

    it("refuses inventory requests addressed to a name that is not ours, from anywhere (DNS rebinding through a port-forward)", async () => {
      const port = handler.httpPort;
      for (const path of INVENTORY) {
        expectRefused(
          await hostGet(`${handler.url}${path}`, { host: `rebind.example.com:${port}` }),
          /rebind\.example\.com.*localhost/,
        );
      }
      expectRefused(
        await namespace.get(`${remote}/devices`, { host: `rebind.example.com:${port}` }),
        /rebind\.example\.com/,
      );
      for (const host of [
        `localhost:${port}`,
        `fleet.localhost:${port}`,
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
      ])
        expect((await hostGet(`${handler.url}/devices`, { host })).status, host).toBe(200);
      // Health and metrics are for whoever asks, by whatever name.
      expect((await hostGet(`${handler.url}/healthz`, { host: "rebind.example.com" })).status).toBe(200);
      expect((await hostGet(`${handler.url}/metrics`, { host: "rebind.example.com" })).status).toBe(200);
    });

    it(`keeps at most ${EVENT_STREAMS} event streams open and tells the next one so with a 503, counted in /metrics`, async () => {
      // The feed of the test before is gone.
      await eventually(
        async () => (await handler.metric("akri_mqtt_http_event_streams")) === 0,
        "no event stream open",
      );
      const aborts: AbortController[] = [];
      const responses: Response[] = [];
      try {
        for (let i = 0; i < EVENT_STREAMS; i++) {
          const abort = new AbortController();
          aborts.push(abort);
          const response = await fetch(`${handler.url}/events`, { signal: abort.signal });
          expect(response.status).toBe(200);
          // Held, not read: a response nobody holds is collected, and its socket closed.
          responses.push(response);
        }
        expect(await handler.metric("akri_mqtt_http_event_streams")).toBe(EVENT_STREAMS);
        const refused = await hostGet(`${handler.url}/events`);
        expect(refused.status).toBe(503);
        expect(refused.body).toMatch(new RegExp(`${EVENT_STREAMS} .*event streams`));
        expect(refused.headers["x-content-type-options"]).toBe("nosniff");
        expect(await handler.metric('akri_mqtt_http_refused_total{reason="event_streams_full"}')).toBe(1);
        // One goes away: there is room again.
        aborts.pop()!.abort();
        await eventually(
          async () => (await hostGet(`${handler.url}/events`)).status === 200,
          "room for one more event stream",
        );
      } finally {
        for (const abort of aborts) abort.abort();
      }
    });

    it("serve --inventory-access cluster (a DaemonSet of one's own) opens every stream to other addresses", async () => {
      const directory = await mkdtemp(join(tmpdir(), "akri-inventory-open-"));
      const own = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-b" }, [
        "--http-host",
        "0.0.0.0",
        "--inventory-access",
        "cluster",
      ]);
      const ownAgent = new TestAgent(directory);
      try {
        await ownAgent.start();
        await ownAgent.waitForRegistrations(1);
        const request = ownAgent.apply("closed", details("Closed"));
        await eventually(() => (request.calls[0]?.lists.length ?? 0) >= 1, "the stream's first list");
        const answer = await namespace.get(`http://${namespace.hostAddress}:${own.httpPort}/devices`);
        expect(answer.status).toBe(200);
        expect((JSON.parse(answer.body) as StreamJson[]).length).toBe(1);
        request.terminate();
      } finally {
        await own.stop();
        await ownAgent.stop();
      }
      const refused = await runCli(["serve", "--inventory-access", "everyone"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--inventory-access must be loopback or cluster, got "everyone"');
    });

    it("sends x-content-type-options: nosniff with every response", async () => {
      const answers: [string, Answer][] = [];
      for (const path of [
        "/healthz",
        "/metrics",
        "/devices",
        "/devices?all=true",
        "/",
        "/fleet.js",
        "/events",
        "/nope",
      ])
        answers.push([path, await hostGet(`${handler.url}${path}`)]);
      answers.push(["/healthz (remote)", await namespace.get(`${remote}/healthz`)]);
      answers.push(["/metrics (remote)", await namespace.get(`${remote}/metrics`)]);
      const post = await fetch(`${handler.url}/devices`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("x-content-type-options"), "POST /devices").toBe("nosniff");
      expect(answers.find(([path]) => path === "/nope")?.[1].status).toBe(404);
      for (const [path, answer] of answers)
        expect(answer.headers["x-content-type-options"], path).toBe("nosniff");
    });
  },
);
