/**
 * The ids of the last N messages the ingress has handled, kept in the broker store so that
 * a message JetStream delivers again (its ack was lost, the consumer died before acking,
 * the publisher sent it twice) is acknowledged without being published twice.
 *
 * Stored as a ring of N slots, one meta key each: `ingress/<name>/dedupe/<slot>` =
 * `<counter> <id>`, slot = counter mod N. Each handled message writes its slot in the same
 * store batch as its MQTT publish, so after a crash either both are there or neither is
 * (one flush covers both). Writing one small key per message instead of the whole ring
 * "every so often" is what makes that hold: a periodic snapshot would lose the ids of the
 * messages published since the last one.
 *
 * Bounded: N ids in memory and N keys in the store. Start-up reads the N keys.
 */
import type { Store } from '../../ports/store.js';

/** Keys read at once on load. */
const LOAD_CHUNK = 256;

export class DedupeWindow {
  /** id -> counter of the newest slot holding it. */
  private readonly ids = new Map<string, number>();
  private readonly slots: (string | undefined)[];
  private counter = 0;

  constructor(
    private readonly store: Pick<Store, 'putMeta' | 'getMeta'>,
    private readonly prefix: string,
    readonly size: number,
  ) {
    this.slots = new Array<string | undefined>(size);
  }

  get count(): number {
    return this.ids.size;
  }

  private key(slot: number): string {
    return `${this.prefix}/dedupe/${slot}`;
  }

  /** Reads the ring back from the store (call once, before use). */
  async load(): Promise<void> {
    const entries: { slot: number; counter: number; id: string }[] = [];
    for (let from = 0; from < this.size; from += LOAD_CHUNK) {
      const slots = Array.from({ length: Math.min(LOAD_CHUNK, this.size - from) }, (_v, k) => from + k);
      const values = await Promise.all(slots.map((s) => this.store.getMeta(this.key(s))));
      values.forEach((v, k) => {
        const parsed = v === undefined ? undefined : parse(v);
        if (parsed !== undefined) entries.push({ slot: slots[k]!, ...parsed });
      });
    }
    // Oldest first, so that a newer slot holding the same id wins.
    entries.sort((a, b) => a.counter - b.counter);
    for (const e of entries) {
      this.slots[e.slot] = e.id;
      this.ids.set(e.id, e.counter);
      if (e.counter >= this.counter) this.counter = e.counter + 1;
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`, evicting the oldest; the store write joins the current batch. */
  add(id: string): void {
    const c = this.counter++;
    const slot = c % this.size;
    const old = this.slots[slot];
    if (old !== undefined && this.ids.get(old) !== undefined && this.ids.get(old)! <= c - this.size) this.ids.delete(old);
    this.slots[slot] = id;
    this.ids.set(id, c);
    this.store.putMeta(this.key(slot), Buffer.from(`${c} ${id}`, 'utf8'));
  }

  /** Forgets ids whose store writes were given up (the commit failed for good). */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.ids.delete(id);
  }
}

function parse(v: Buffer): { counter: number; id: string } | undefined {
  const s = v.toString('utf8');
  const space = s.indexOf(' ');
  if (space <= 0) return undefined;
  const counter = Number(s.slice(0, space));
  if (!Number.isSafeInteger(counter) || counter < 0) return undefined;
  return { counter, id: s.slice(space + 1) };
}
