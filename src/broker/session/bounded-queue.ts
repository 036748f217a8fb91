/**
 * A FIFO ring buffer with a hard bound. It starts empty and grows by doubling up to the
 * bound, so an idle session costs no queue memory. What happens when it is full is the
 * caller's policy (drop oldest, drop newest, refuse); `push` only reports it.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private count = 0;

  constructor(public bound: number) {}

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.bound;
  }

  /** Appends; returns false (and does nothing) when the queue is at its bound. */
  push(item: T): boolean {
    if (this.count >= this.bound) return false;
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return true;
  }

  /** Puts an item back at the front (used to return a message that could not be sent). */
  unshift(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      if (this.items.length > 64) this.items = [];
    }
    return item;
  }

  /** Removes every item for which `pred` is true, keeping order; returns them. */
  removeWhere(pred: (item: T) => boolean): T[] {
    const kept: T[] = [];
    const removed: T[] = [];
    for (const item of this.drain()) (pred(item) ? removed : kept).push(item);
    for (const item of kept) this.push(item);
    return removed;
  }

  *drain(): Generator<T> {
    while (this.count > 0) yield this.shift() as T;
  }

  *values(): Generator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.items.length] as T;
  }

  private grow(): void {
    const size = Math.max(4, Math.min(this.items.length * 2 || 4, Math.max(this.bound, 4)));
    const next: (T | undefined)[] = new Array(Math.max(size, this.count + 1));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
