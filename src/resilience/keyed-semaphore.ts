/**
 * A sharded concurrency limiter: a key is hashed to one of `shards` shards, each with
 * `permitsPerShard` slots, so one hot key (one device, one IP) can hold at most its
 * shard's slots and cannot starve the others; keys that share a shard share its slots.
 * Memory is fixed by the shard count, whatever the number of keys.
 *
 * `acquire(key, signal)` resolves to a release function (idempotent: calling it twice
 * releases once). Waiters are FIFO per shard and bounded (`maxWaitersPerShard`); beyond
 * it acquire rejects at once with SEMAPHORE_FULL. A waiter whose signal aborts leaves the
 * line and rejects with the signal's reason. A freed slot goes straight to the first
 * waiter, so the shard never holds more than its slots and never idles with waiters.
 */
import { HoldfastError } from '../errors/index.js';
import { SEMAPHORE_FULL, checkNumber, invalidOption } from './errors.js';
import { WaitLine } from './wait-line.js';

export type Release = () => void;

export interface KeyedSemaphoreOptions {
  /** Named in errors (default 'semaphore'). */
  name?: string;
  permitsPerShard: number;
  /** Default 64. */
  shards?: number;
  /** Default 64; 0: never wait. */
  maxWaitersPerShard?: number;
  /** Default FNV-1a 32-bit. */
  hash?: (key: string) => number;
}

export interface KeyedSemaphoreCounters {
  /** Slots granted (at once or after waiting). */
  acquired: number;
  /** Acquires that had to wait. */
  waited: number;
  /** Acquires refused because the waiting line was full. */
  rejected: number;
  /** Waiters that left because their signal aborted. */
  aborted: number;
}

interface Waiter {
  resolve: (release: Release) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** FNV-1a, 32 bits, over UTF-16 code units. */
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class KeyedSemaphore {
  readonly name: string;
  readonly permitsPerShard: number;
  readonly shards: number;
  readonly maxWaitersPerShard: number;
  readonly counters: Readonly<KeyedSemaphoreCounters>;
  private readonly c: KeyedSemaphoreCounters = { acquired: 0, waited: 0, rejected: 0, aborted: 0 };
  private readonly hash: (key: string) => number;
  private readonly held: Int32Array;
  private readonly lines: (WaitLine<Waiter> | undefined)[];

  constructor(options: KeyedSemaphoreOptions) {
    this.name = options.name ?? 'semaphore';
    this.permitsPerShard = integer('permitsPerShard', options.permitsPerShard, 1);
    this.shards = integer('shards', options.shards ?? 64, 1);
    this.maxWaitersPerShard = checkNumber('maxWaitersPerShard', options.maxWaitersPerShard ?? 64, 0, false, true);
    this.hash = options.hash ?? fnv1a;
    this.held = new Int32Array(this.shards);
    this.lines = new Array<WaitLine<Waiter> | undefined>(this.shards).fill(undefined);
    this.counters = this.c;
  }

  shardOf(key: string): number {
    return this.hash(key) % this.shards;
  }

  /** Slots held in the shard of `key`. */
  inUse(key: string): number {
    return this.held[this.shardOf(key)];
  }

  /** Waiters in the shard of `key`. */
  waiting(key: string): number {
    return this.lines[this.shardOf(key)]?.size ?? 0;
  }

  /** A slot now, or undefined (never waits, never jumps the line). */
  tryAcquire(key: string): Release | undefined {
    const s = this.shardOf(key);
    if (this.held[s] >= this.permitsPerShard || (this.lines[s]?.size ?? 0) > 0) return undefined;
    this.held[s]++;
    this.c.acquired++;
    return this.releaser(s);
  }

  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.tryAcquire(key);
    if (now !== undefined) return Promise.resolve(now);
    const s = this.shardOf(key);
    const line = (this.lines[s] ??= new WaitLine<Waiter>());
    if (line.size >= this.maxWaitersPerShard) {
      this.c.rejected++;
      return Promise.reject(
        new HoldfastError(SEMAPHORE_FULL, `${this.name}: ${this.permitsPerShard} slot(s) busy and ${line.size} waiting`, {
          details: { semaphore: this.name, shard: s, maxWaiters: this.maxWaitersPerShard },
        }),
      );
    }
    this.c.waited++;
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = { resolve, signal, onAbort: undefined };
      const node = line.push(w);
      if (signal !== undefined) {
        w.onAbort = () => {
          if (!line.remove(node)) return;
          this.c.aborted++;
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    });
  }

  private releaser(shard: number): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(shard);
    };
  }

  private release(shard: number): void {
    const w = this.lines[shard]?.shift();
    if (w === undefined) {
      this.held[shard]--;
      return;
    }
    // The slot passes to the first waiter: held stays the same.
    if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
    this.c.acquired++;
    w.resolve(this.releaser(shard));
  }
}

function integer(option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw invalidOption(option, value, `must be an integer >= ${min}`);
  return value;
}
