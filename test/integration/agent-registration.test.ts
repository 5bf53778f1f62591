import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { AgentLives } from "../support/agent-lives.js";
import { AgentProcess } from "../support/agent-process.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { TcpProxy } from "../support/tcp-proxy.js";

/*
 * Registration as Akri 0.13.26's agent makes it matter: every registration makes each live
 * request for the handler's name open one more Discover stream and keep the old ones
 * (discovery_handler_registry.rs, register_endpoint → watch_devices), so a registration the
 * agent did not need doubles streams. The agent stand-ins say where each behaviour comes from.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The handler's JSON log lines from the `from`th on. */
function logLines(handler: HandlerProcess, from = 0): { msg?: string; reason?: string }[] {
  return handler.output
    .split("\n")
    .slice(from, -1)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string; reason?: string }];
      } catch {
        return [];
      }
    });
}

const lineCount = (handler: HandlerProcess) => handler.output.split("\n").length - 1;

// Nothing listens there: the stream stays open through the outage, which is all these tests need.
const details = "serverUrls: [tcp://127.0.0.1:9]\nsparkplug: {groupIds: {action: Include, items: [A]}}\n";

describe("a Configuration deleted and re-created", () => {
  // Bounds, not speeds: on a loaded CI machine (the whole suite in parallel on two cores) one
  // of these steps once ran out of 10 s, and the whole test has taken 14 s on older commits.
  const WAIT = 20_000;
  const running: { kill(): Promise<void> }[] = [];

  afterEach(async () => {
    for (const p of running.splice(0)) await p.kill();
  });

  it.each([0, 100, 300, 1500])(
    "has exactly one Discover stream when re-created %i ms after it was deleted",
    async (gapMs) => {
      const directory = await mkdtemp(join(tmpdir(), "akri-recreate-"));
      const agent = await AgentProcess.start(directory);
      running.push(agent);
      const handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
      running.push(handler);
      await eventually(() => agent.registrations.length === 1, "the first registration", WAIT);
      agent.apply("plant", details);
      await eventually(() => agent.request("plant")?.open === 1, "the Configuration's stream", WAIT);

      const mark = lineCount(handler);
      const registrationsBefore = agent.registrations.length;
      agent.delete("plant");
      await sleep(gapMs);
      agent.apply("plant", details);

      // The handler saw the old stream cancelled and the new one come.
      const seen = (msg: string) => logLines(handler, mark).filter((l) => l.msg === msg).length;
      await eventually(
        () => seen("Discover stream closed") >= 1 && seen("Discover stream opened") >= 1,
        "the handler to see the old stream end and the new one start",
        WAIT,
      );
      // Its last stream cancelled, the handler may register again (the agent may have dropped
      // its endpoint): wait until that has been done or given up.
      if (logLines(handler, mark).some((l) => l.msg === "re-registering with the Akri agent")) {
        await eventually(
          () =>
            agent.registrations.length > registrationsBefore ||
            seen("no need to re-register: a Discover call came after our last stream was cancelled") >= 1,
          "the re-registration to be done or dropped",
          WAIT,
        );
      }
      await eventually(() => (agent.request("plant")?.open ?? 0) >= 1, "the new request's stream", WAIT);
      expect(agent.request("plant"), `re-created ${gapMs} ms after deletion`).toMatchObject({
        streams: 1,
        open: 1,
      });
      expect((await handler.metric("akri_mqtt_discover_streams")) ?? 0).toBe(1);
    },
    60_000,
  );
});

/** Waits until performance.now() reaches `at`: sleeps while far, spins the last milliseconds. */
async function until(at: number): Promise<void> {
  while (at - performance.now() > 4) await sleep(1);
  while (performance.now() < at) {
    // spin: a timer is only good to a millisecond or two
  }
}

describe("an agent that restarts while the handler registers", () => {
  let handler: HandlerProcess | undefined;
  let lives: AgentLives | undefined;

  afterEach(async () => {
    await handler?.kill();
    lives?.end();
  });

  it("registers exactly once with each agent life, however close to the registration it rebinds", async () => {
    const directory = await mkdtemp(join(tmpdir(), "akri-rebind-"));
    lives = new AgentLives(directory);
    lives.restart();
    handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    await eventually(() => lives!.current!.registrations.length === 1, "the first registration", 10_000);

    // How long after a new socket appears the handler connects to it (it waits a coalescing
    // window first): learnt from undisturbed lives.
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const life = lives.restart();
      await eventually(() => life.registrations.length === 1, "a registration with a new life", 10_000);
      delays.push(life.accepted[0]! - life.boundAt);
    }
    const connectsAfter = delays.sort((a, b) => a - b)[1]!;

    // Restarts spread over the few milliseconds before the handler connects, when it has
    // already looked at the socket it means to register with. The handler's own timing varies
    // by more than that window, so about one restart in six lands in it.
    const trials = 40;
    for (let t = 0; t < trials; t++) {
      const first = lives.restart();
      await until(first.boundAt + connectsAfter - 4.5 + (t % 17) * 0.25);
      const second = lives.restart();
      await eventually(() => second.registrations.length >= 1, "a registration with the next life", 10_000);
      // A second registration, if one comes, follows the first after a coalescing window (500 ms).
      await sleep(700);
    }
    const again = logLines(handler).filter(
      (l) => l.msg === "the agent's registration socket was replaced while connecting; again",
    ).length;
    console.info(
      `${trials} agent restarts about ${connectsAfter.toFixed(1)} ms after the socket appeared; the handler found it replaced while connecting ${again} time(s)`,
    );
    const twice = lives.lives.filter((l) => l.registrations.length > 1);
    expect(
      twice.map((l) => ({ life: l.index, registrations: l.registrations.length })),
      "agent lives registered with more than once",
    ).toStrictEqual([]);
  }, 120_000);
});

describe.skipIf(!mosquittoAvailable())("a handler told to stop (SIGTERM) with a Discover stream open", () => {
  const running: { kill(): Promise<void> }[] = [];

  afterEach(async () => {
    for (const p of running.splice(0)) await p.kill();
  });

  it("takes no Discover call while it stops, neither the agent's at-once query again nor a new Configuration's; then its STATE death, no socket, exit 0", async () => {
    const broker = await Mosquitto.start();
    running.push({ kill: () => broker.stop() });
    // The handler reaches the broker through a proxy that can hold the broker's answers: its
    // STATE death then waits for an acknowledgement, and the test for as long as it likes.
    const proxy = await TcpProxy.start(broker.port);
    running.push({ kill: () => proxy.stop() });
    const details = (group: string) =>
      `serverUrls: [${proxy.url}]\nsparkplug: {groupIds: {action: Include, items: [${group}]}}\n`;
    const directory = await mkdtemp(join(tmpdir(), "akri-shutdown-"));
    const agent = await AgentProcess.start(directory);
    running.push(agent);
    agent.apply("plant", details("A"));
    const handler = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-a" });
    running.push(handler);

    const watcher = await mqtt.connectAsync(broker.url, { clientId: "state-watcher" });
    running.push({ kill: () => watcher.endAsync() });
    const states: boolean[] = [];
    watcher.on("message", (_topic, payload) => {
      if (payload.length > 0) states.push((JSON.parse(payload.toString()) as { online: boolean }).online);
    });
    await watcher.subscribeAsync("spBv1.0/STATE/akri-mqtt-node-a");
    await eventually(() => agent.request("plant")?.open === 1, "the Configuration's stream", 10_000);
    await eventually(() => states.at(-1) === true, "the handler's STATE birth", 10_000);

    proxy.hold();
    const mark = lineCount(handler);
    handler.signal("SIGTERM");
    const since = (msg: string) => logLines(handler, mark).filter((l) => l.msg === msg);
    await eventually(
      () => since("Discover stream closed").length === 1,
      "the handler to end its discovery",
      10_000,
    );
    // While it waits for the broker: the agent, which saw the first Configuration's stream
    // end, queries again at once; and a new Configuration is applied, for which it queries
    // every endpoint registered under the name (new_request). Neither may find a handler.
    agent.apply("plant-b", details("B"));
    const queriedAgain = () => (agent.request("plant")?.requeries ?? 0) > 0;
    const queried = () => {
      const b = agent.request("plant-b");
      // With no endpoint left to query, nothing; else a call that failed and is retried.
      return b !== undefined && (b.streams === 0 || b.requeries > 0);
    };
    await eventually(
      () => since("Discover stream opened").length > 0 || (queriedAgain() && queried()),
      "the agent's queries to be answered or refused",
      10_000,
    );
    const queriedAgainWhileStopping = handler.exitCode === undefined && agent.request("plant")!.requeries > 0;
    proxy.release();
    await eventually(() => handler.exitCode !== undefined, "the handler to exit", 10_000);
    expect(handler.exitCode, handler.output).toBe(0);
    expect(since("Discover stream opened"), "Discover calls the stopping handler took").toStrictEqual([]);
    expect(queriedAgainWhileStopping, "the agent queried again while the handler was stopping").toBe(true);
    expect(agent.request("plant")).toMatchObject({ streams: 1, open: 0 });
    await eventually(() => states.at(-1) === false, "the handler's STATE death", 5000);
    expect(existsSync(join(directory, "mqtt.sock"))).toBe(false);
  }, 60_000);
});
