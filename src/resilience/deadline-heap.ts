/**
 * A min-heap of deadlines: one structure (driven by one periodic sweep) instead of a
 * timer per object. Entries are never removed in place; callers invalidate them lazily
 * (e.g. by a generation number stored in the item) and `popDue` hands back everything
 * due so the caller can skip the stale ones.
 */
export class DeadlineHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  push(deadline: number, item: T): void {
    const at = this.at;
    const items = this.items;
    let i = at.length;
    at.push(deadline);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= deadline) break;
      at[i] = at[p];
      items[i] = items[p];
      i = p;
    }
    at[i] = deadline;
    items[i] = item;
  }

  /** The earliest deadline, or Infinity when empty. */
  peekDeadline(): number {
    return this.at.length === 0 ? Infinity : this.at[0];
  }

  /** Removes and returns the items whose deadline is <= now, earliest first, at most `max`. */
  popDue(now: number, max = Infinity): T[] {
    const out: T[] = [];
    while (this.at.length > 0 && this.at[0] <= now && out.length < max) out.push(this.pop());
    return out;
  }

  private pop(): T {
    const at = this.at;
    const items = this.items;
    const top = items[0];
    const lastAt = at.pop()!;
    const lastItem = items.pop()!;
    const n = at.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && at[r] < at[l] ? r : l;
        if (at[c] >= lastAt) break;
        at[i] = at[c];
        items[i] = items[c];
        i = c;
      }
      at[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }
}
