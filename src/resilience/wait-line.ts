/**
 * A FIFO line of waiters with O(1) removal from the middle (a waiter whose signal aborts
 * leaves at once, so the bound on the line counts only live waiters).
 */
export interface LineNode<T> {
  readonly value: T;
  prev: LineNode<T> | undefined;
  next: LineNode<T> | undefined;
  inLine: boolean;
}

export class WaitLine<T> {
  private head: LineNode<T> | undefined;
  private tail: LineNode<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(value: T): LineNode<T> {
    const node: LineNode<T> = { value, prev: this.tail, next: undefined, inLine: true };
    if (this.tail !== undefined) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.count++;
    return node;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node === undefined) return undefined;
    this.remove(node);
    return node.value;
  }

  /** Removes `node` if it is still in the line; returns whether it was. */
  remove(node: LineNode<T>): boolean {
    if (!node.inLine) return false;
    node.inLine = false;
    if (node.prev !== undefined) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== undefined) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    this.count--;
    return true;
  }
}
