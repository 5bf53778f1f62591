import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { log } from "../log.js";

/*
 * Who this handler is on its brokers: the suffix of its MQTT client id and of its Sparkplug
 * STATE host id. It must stay the same across restarts on one node (else every dead pod
 * leaves a retained STATE death behind, and sessions churn) and differ between nodes (else
 * the handlers of two nodes throw each other off the broker).
 *
 * Akri's chart (custom-discovery-handler.yaml, 0.13.26) gives the handler's DaemonSet only
 * DISCOVERY_HANDLERS_DIRECTORY and the node-local hostPath mounted there; no node name, and
 * the pod name (HOSTNAME) changes with every restart. So, in order: AGENT_NODE_NAME where a
 * deployment sets it (downward API spec.nodeName); else an id made once and kept in that
 * node-local directory; else, where the directory cannot be written, the host name.
 */

export interface NodeIdentity {
  /** Appended to clientId and sparkplug.hostId: `<prefix>-<suffix>`. */
  suffix: string;
  /** Where it came from, for the start-up log. */
  source: "AGENT_NODE_NAME" | "node-id file" | "host name";
  /** The file that keeps it, for "node-id file". */
  file?: string;
}

/** A string made safe as an MQTT client id and a Sparkplug id level (no / + # or spaces). */
export function idLevel(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_.-]/g, "-");
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** The identity of the handler `name` on this node (see above); makes the node-id file if needed. */
export async function nodeIdentity(
  directory: string,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeIdentity> {
  if (env.AGENT_NODE_NAME) return { suffix: idLevel(env.AGENT_NODE_NAME), source: "AGENT_NODE_NAME" };
  const file = join(directory, `${name}.node-id`);
  try {
    const kept = await readKept(file);
    if (kept.kind === "id") return { suffix: kept.id, source: "node-id file", file };
    await mkdir(directory, { recursive: true });
    const made = `node-${randomBytes(5).toString("hex")}`;
    try {
      // "wx": of two handlers starting at once, one writes and both use what it wrote.
      await writeFile(file, `${made}\n`, { flag: kept.kind === "invalid" ? "w" : "wx", mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const written = await readKept(file);
    if (written.kind !== "id") throw new Error(`${file} does not hold an id after writing it`);
    log.info({ file, suffix: written.id }, "made this node's MQTT identity");
    return { suffix: written.id, source: "node-id file", file };
  } catch (e) {
    const fallback = idLevel(env.HOSTNAME || hostname() || "local");
    log.warn(
      { file, err: (e as Error).message, suffix: fallback },
      "cannot keep this node's MQTT identity in the handlers' directory: using the host name, which changes with every pod (set AGENT_NODE_NAME)",
    );
    return { suffix: fallback, source: "host name" };
  }
}

type Kept = { kind: "id"; id: string } | { kind: "absent" } | { kind: "invalid" };

/** The id kept in `file`, if any; "invalid" (logged) when it holds something else. */
async function readKept(file: string): Promise<Kept> {
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw e;
  }
  if (NODE_ID.test(text)) return { kind: "id", id: text };
  log.warn({ file, content: text.slice(0, 80) }, "the node-id file does not hold an id: making a new one");
  return { kind: "invalid" };
}
