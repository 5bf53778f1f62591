/**
 * Counts holders of each key: what several users share (a topic filter, a pooled connection)
 * is set up by the first and torn down by the last.
 */
export class RefCounts<K> {
  private readonly counts = new Map<K, number>();

  /** One more holder; true for the first. */
  add(key: K): boolean {
    const count = this.counts.get(key) ?? 0;
    this.counts.set(key, count + 1);
    return count === 0;
  }

  /** One holder fewer; true for the last (a key not held is ignored). */
  remove(key: K): boolean {
    const count = this.counts.get(key);
    if (count === undefined) return false;
    if (count > 1) {
      this.counts.set(key, count - 1);
      return false;
    }
    this.counts.delete(key);
    return true;
  }

  keys(): K[] {
    return [...this.counts.keys()];
  }

  get size(): number {
    return this.counts.size;
  }
}
