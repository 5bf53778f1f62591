import { log } from "../log.js";

/*
 * Our own publishes coming back through our subscription. A QoS 0 rebirth NCMD that a
 * broker's ACL forbids vanishes without an error; not seeing it come back is the only sign.
 */

/** How long our own publish may take to come back through our subscription. */
const ECHO_TIMEOUT_MS = 5000;

interface Waiting {
  payload: Buffer;
  timer: NodeJS.Timeout;
}

export class EchoWatch {
  private readonly waiting = new Map<string, Waiting[]>();
  private logged = 0;
  /** Publishes the broker accepted but never delivered back to us, by purpose (an ACL?). */
  readonly notDelivered = new Map<string, number>();

  /** `where`: the broker, for the log line. */
  constructor(private readonly where: () => string) {}

  /**
   * Waits for a publish to come back; returns a canceller (the publish failed after all).
   * `stillConnected`: is the connection it went out on still up? A publish lost with a
   * connection that has since gone says nothing about ACLs.
   */
  expect(topic: string, payload: Buffer, purpose: string, stillConnected: () => boolean): () => void {
    const list = this.waiting.get(topic) ?? [];
    const entry: Waiting = {
      payload,
      timer: setTimeout(() => {
        remove();
        if (!stillConnected()) return;
        this.notDelivered.set(purpose, (this.notDelivered.get(purpose) ?? 0) + 1);
        const logged = ++this.logged;
        if (logged > 10 && logged % 100 !== 0) return;
        log.warn(
          { topic, purpose, broker: this.where() },
          `the broker accepted our ${purpose} publish but never delivered it: does an ACL forbid this client to publish on ${topic}?`,
        );
      }, ECHO_TIMEOUT_MS),
    };
    entry.timer.unref();
    const remove = () => {
      clearTimeout(entry.timer);
      const entries = this.waiting.get(topic);
      const at = entries?.indexOf(entry) ?? -1;
      if (at >= 0) entries!.splice(at, 1);
      if (entries?.length === 0) this.waiting.delete(topic);
    };
    list.push(entry);
    this.waiting.set(topic, list);
    return remove;
  }

  /** A received message: one of our publishes coming back? (Cheap when nothing waits.) */
  received(topic: string, payload: Buffer): void {
    if (this.waiting.size === 0) return;
    const list = this.waiting.get(topic);
    if (!list) return;
    const at = list.findIndex((w) => w.payload.equals(payload));
    if (at < 0) return;
    clearTimeout(list[at]!.timer);
    list.splice(at, 1);
    if (list.length === 0) this.waiting.delete(topic);
  }

  stop(): void {
    for (const list of this.waiting.values()) for (const w of list) clearTimeout(w.timer);
    this.waiting.clear();
  }
}
