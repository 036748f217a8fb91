/**
 * In-process waiters of wait(): callbacks keyed by command id, resolved when the command
 * reaches a final state. Bounded: beyond `max` waiters, add() refuses and the caller
 * answers at once with the current record (a long-poll degrades into a poll).
 */
import type { CommandRecord } from '../../ports/platform-store.js';

export type CommandWaiter = (c: CommandRecord) => void;

export class CommandWaiters {
  private readonly byId = new Map<string, Set<CommandWaiter>>();
  private count = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count;
  }

  /** Registers `w`; returns the function that removes it, or undefined when full. */
  add(commandId: string, w: CommandWaiter): (() => void) | undefined {
    if (this.count >= this.max) return undefined;
    let set = this.byId.get(commandId);
    if (set === undefined) {
      set = new Set();
      this.byId.set(commandId, set);
    }
    set.add(w);
    this.count++;
    const own = set;
    return () => {
      if (!own.delete(w)) return;
      this.count--;
      if (own.size === 0 && this.byId.get(commandId) === own) this.byId.delete(commandId);
    };
  }

  /** Resolves (and removes) every waiter of `c.id`. */
  settle(c: CommandRecord): void {
    const set = this.byId.get(c.id);
    if (set === undefined) return;
    this.byId.delete(c.id);
    this.count -= set.size;
    const all = [...set];
    set.clear(); // a waiter's own remove() is then a no-op
    for (const w of all) w(c);
  }

  /** Ids with waiters (for shutdown). */
  ids(): string[] {
    return [...this.byId.keys()];
  }
}
