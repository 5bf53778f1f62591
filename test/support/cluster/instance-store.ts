import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Instance } from "./instance.js";
import { INSTANCE_SCHEMA, instanceStoreBinary } from "./instance-store-binary.js";

/*
 * The Kubernetes API of a test cluster, for Akri Instances only: the Go instance store
 * (instance-store/main.go, structured-merge-diff's apply as kube-apiserver runs it) as a
 * child process, one JSON line a request. Requests are answered in order, as one API
 * server serialises writes to one object; every write is also a watch event.
 */

export type ApplyResult =
  | { ok: true; instance: Instance }
  | {
      ok: false;
      /** 409 for a conflict; 400/422/500 otherwise. */
      code: number;
      reason: string;
      /** The API server's text, e.g. `Apply failed with 1 conflict: conflict with "node-b": .spec…`. */
      message: string;
      conflicts: { manager: string; field: string }[];
    };

export type DeleteResult = { ok: true } | { ok: false; code: number; reason: string; message: string };

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: Instance;
}

interface Response {
  id: number;
  ok: boolean;
  code?: number;
  reason?: string;
  message?: string;
  conflicts?: { manager: string; field: string }[];
  object?: Instance;
  items?: Instance[];
  resourceVersion?: string;
}

export class InstanceStore {
  private nextId = 1;
  private readonly pending = new Map<number, (response: Response) => void>();
  private readonly watchers = new Set<(event: WatchEvent) => void>();
  private stderr = "";
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => this.onLine(line));
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on("exit", () => {
      this.exited = true;
      const failed: Response = { id: 0, ok: false, code: 500, message: `the store exited: ${this.stderr}` };
      for (const resolve of this.pending.values()) resolve(failed);
      this.pending.clear();
    });
  }

  /** Builds the store if needed (the first time: a few seconds) and starts it, empty. */
  static async start(): Promise<InstanceStore> {
    const binary = await instanceStoreBinary();
    const child = spawn(binary, [INSTANCE_SCHEMA], { stdio: ["pipe", "pipe", "pipe"] });
    const store = new InstanceStore(child);
    await store.list(); // answers once the schema is loaded
    return store;
  }

  private onLine(line: string): void {
    const message = JSON.parse(line) as Response | { event: WatchEvent["type"]; object: Instance };
    if ("event" in message) {
      const event: WatchEvent = { type: message.event, object: message.object };
      for (const watcher of this.watchers) watcher(event);
      return;
    }
    const resolve = this.pending.get(message.id);
    this.pending.delete(message.id);
    resolve?.(message);
  }

  private request(body: Record<string, unknown>): Promise<Response> {
    if (this.exited) return Promise.reject(new Error(`the instance store has exited: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  /** Server-side apply as `manager`, without force; a missing Instance is created. */
  async apply(manager: string, namespace: string, instance: Instance): Promise<ApplyResult> {
    const response = await this.request({ op: "apply", manager, namespace, object: instance });
    if (response.ok) return { ok: true, instance: response.object! };
    return {
      ok: false,
      code: response.code ?? 500,
      reason: response.reason ?? "",
      message: response.message ?? "",
      conflicts: response.conflicts ?? [],
    };
  }

  /** DELETE: the Instance and every manager's ownership of it go (no finalizers). */
  async delete(namespace: string, name: string): Promise<DeleteResult> {
    const response = await this.request({ op: "delete", namespace, name });
    if (response.ok) return { ok: true };
    return {
      ok: false,
      code: response.code ?? 500,
      reason: response.reason ?? "",
      message: response.message ?? "",
    };
  }

  /** Every Instance, as a GET shows it (with metadata.managedFields). */
  async list(): Promise<Instance[]> {
    return (await this.listWithVersion()).items;
  }

  /** A LIST and its resourceVersion: the last write it includes. */
  async listWithVersion(): Promise<{ items: Instance[]; resourceVersion: number }> {
    const response = await this.request({ op: "list" });
    if (!response.ok) throw new Error(`list failed: ${response.message}`);
    return { items: response.items ?? [], resourceVersion: Number(response.resourceVersion ?? 0) };
  }

  /** Follows every write from now on; returns the unsubscribe. */
  watch(listener: (event: WatchEvent) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.stdin!.end();
    });
  }
}
