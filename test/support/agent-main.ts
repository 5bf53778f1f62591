import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { TestAgent } from "./akri-agent.js";

/*
 * The test agent as a process of its own (agent-process.ts starts it), so that it can die as
 * the real agent does: SIGKILL, its socket left behind, and a new agent process removing it
 * and binding the same path. It reports what happens as JSON lines on stdout and takes
 * Configurations as JSON lines on stdin: {"apply": name, "details": yaml} / {"delete": name}.
 */

const directory = process.argv[2];
if (!directory) throw new Error("usage: agent-main <directory>");

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const requests = new Map<string, ReturnType<TestAgent["apply"]>>();

/** Says what each request's streams look like, if that changed since it was last said. */
let last = "";
const report = () => {
  const view = [...requests.values()].map((r) => ({
    configuration: r.configuration,
    streams: r.calls.length,
    open: r.openStreams,
    requeries: r.requeries,
    ids: r.ids(),
  }));
  const text = JSON.stringify(view);
  if (text !== last) say({ event: "requests", requests: view });
  last = text;
};

// A registration's new streams are opened before it is reported, so the view that follows it is current.
const agent = new TestAgent(directory, (registered) => {
  say({ event: "registered", ...registered });
  report();
});

await agent.start();
const socket = await stat(agent.socketPath);
say({ event: "listening", inode: socket.ino, pid: process.pid });

// Whenever it changes (streams open as the handler answers and end at any time).
setInterval(report, 50);

createInterface({ input: process.stdin }).on("line", (line) => {
  const order = JSON.parse(line) as { apply?: string; details?: string; delete?: string };
  if (order.apply !== undefined) requests.set(order.apply, agent.apply(order.apply, order.details ?? ""));
  if (order.delete !== undefined) {
    agent.delete(order.delete);
    requests.delete(order.delete);
  }
});
