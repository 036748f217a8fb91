/**
 * A FIFO queue with a hard bound and an explicit policy for when it is full:
 * - 'drop-oldest': the new item goes in, the oldest is dropped;
 * - 'drop-newest': the new item is dropped (the producer is told, but not failed);
 * - 'reject': the new item is refused (the producer is expected to back off);
 * - 'block': `put` waits for room, FIFO among blocked producers, until its signal aborts
 *   or `blockMs` passes (DEADLINE_EXCEEDED); `offer` refuses.
 * Every outcome is counted, and `onDrop` sees every item the policy threw away.
 *
 * (src/broker/session/bounded-queue.ts is the broker's private ring for session queues;
 * this is the general one.)
 */
import type { Clock } from '../ports/clock.js';
import { HoldfastError } from '../errors/index.js';
import { QUEUE_FULL, invalidOption } from './errors.js';
import { type DeadlineOptions, withDeadline } from './deadline.js';
import type { Scheduler } from './scheduler.js';
import { WaitLine } from './wait-line.js';

export type FullPolicy = 'drop-oldest' | 'drop-newest' | 'reject' | 'block';
export type OfferResult = 'accepted' | 'dropped-oldest' | 'dropped-newest' | 'rejected';

export interface BoundedQueueOptions<T> {
  /** Named in errors (default 'queue'). */
  name?: string;
  capacity: number;
  policy: FullPolicy;
  /** 'block': the longest a put waits (default Infinity: only its signal bounds it). */
  blockMs?: number;
  /** 'block': puts allowed to wait at once (default 1024); beyond it put resolves 'rejected'. */
  maxBlocked?: number;
  /** Bound on consumers waiting in `take` (default 1024); beyond it take rejects. */
  maxTakers?: number;
  /** Every item the policy did not keep: the dropped oldest, the dropped or rejected newest. */
  onDrop?: (item: T, why: Exclude<OfferResult, 'accepted'>) => void;
  clock?: Clock;
  scheduler?: Scheduler;
}

export interface BoundedQueueCounters {
  accepted: number;
  droppedOldest: number;
  droppedNewest: number;
  rejected: number;
  /** Puts that had to wait for room. */
  blocked: number;
  /** Blocked puts that gave up (signal or blockMs). */
  blockAborted: number;
  /** The most items ever held at once. */
  highWater: number;
}

interface BlockedPut<T> {
  item: T;
  resolve: (r: OfferResult) => void;
}

interface Taker<T> {
  resolve: (item: T) => void;
}

export class BoundedQueue<T> {
  readonly name: string;
  readonly capacity: number;
  readonly policy: FullPolicy;
  readonly counters: Readonly<BoundedQueueCounters>;
  private readonly c: BoundedQueueCounters = { accepted: 0, droppedOldest: 0, droppedNewest: 0, rejected: 0, blocked: 0, blockAborted: 0, highWater: 0 };
  private readonly blockMs: number;
  private readonly maxBlocked: number;
  private readonly maxTakers: number;
  private readonly onDrop: ((item: T, why: Exclude<OfferResult, 'accepted'>) => void) | undefined;
  private readonly deadlineOptions: DeadlineOptions;
  private ring: (T | undefined)[] = [];
  private head = 0;
  private count = 0;
  private readonly putters = new WaitLine<BlockedPut<T>>();
  private readonly takers = new WaitLine<Taker<T>>();

  constructor(options: BoundedQueueOptions<T>) {
    this.name = options.name ?? 'queue';
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw invalidOption('capacity', options.capacity, 'must be an integer >= 1');
    this.capacity = options.capacity;
    if (!['drop-oldest', 'drop-newest', 'reject', 'block'].includes(options.policy)) throw invalidOption('policy', options.policy, 'is not a full policy');
    this.policy = options.policy;
    this.blockMs = options.blockMs ?? Infinity;
    this.maxBlocked = options.maxBlocked ?? 1024;
    this.maxTakers = options.maxTakers ?? 1024;
    this.onDrop = options.onDrop;
    this.deadlineOptions = { clock: options.clock, scheduler: options.scheduler };
    this.counters = this.c;
  }

  get length(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.capacity;
  }

  /** Producers waiting for room ('block'). */
  get blockedPuts(): number {
    return this.putters.size;
  }

  /** Adds now or applies the policy; never waits ('block' refuses when full). */
  offer(item: T): OfferResult {
    if (this.count < this.capacity) return this.accept(item);
    switch (this.policy) {
      case 'drop-oldest': {
        const old = this.shiftRing();
        this.pushRing(item);
        this.c.accepted++;
        this.c.droppedOldest++;
        this.onDrop?.(old, 'dropped-oldest');
        return 'dropped-oldest';
      }
      case 'drop-newest':
        this.c.droppedNewest++;
        this.onDrop?.(item, 'dropped-newest');
        return 'dropped-newest';
      default:
        this.c.rejected++;
        this.onDrop?.(item, 'rejected');
        return 'rejected';
    }
  }

  /**
   * Like offer, except that with 'block' a put on a full queue waits for room (FIFO);
   * it rejects with the signal's reason, or DEADLINE_EXCEEDED after `blockMs`, and the
   * item is then not queued.
   */
  put(item: T, signal?: AbortSignal): Promise<OfferResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.policy !== 'block' || (this.count < this.capacity && this.putters.size === 0)) return Promise.resolve(this.offer(item));
    if (this.putters.size >= this.maxBlocked) {
      this.c.rejected++;
      this.onDrop?.(item, 'rejected');
      return Promise.resolve('rejected');
    }
    this.c.blocked++;
    const d = withDeadline(signal, this.blockMs, `${this.name}.put`, this.deadlineOptions);
    if (d.signal.aborted) {
      this.c.blockAborted++;
      return Promise.reject(d.signal.reason);
    }
    return new Promise<OfferResult>((resolve, reject) => {
      const node = this.putters.push({
        item,
        resolve: (r) => {
          d.signal.removeEventListener('abort', onAbort);
          d.dispose();
          resolve(r);
        },
      });
      const onAbort = (): void => {
        d.dispose();
        if (!this.putters.remove(node)) return;
        this.c.blockAborted++;
        reject(d.signal.reason);
      };
      d.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The oldest item, removed; undefined when empty. */
  poll(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.shiftRing();
    this.admitBlocked();
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.ring[this.head];
  }

  /** The oldest item, waiting for one if empty (rejects with the signal's reason). */
  take(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.count > 0) return Promise.resolve(this.poll() as T);
    if (this.takers.size >= this.maxTakers) {
      return Promise.reject(
        new HoldfastError(QUEUE_FULL, `${this.name}: ${this.takers.size} consumers already waiting`, {
          details: { queue: this.name, maxTakers: this.maxTakers },
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const node = this.takers.push({
        resolve: (item) => {
          if (signal !== undefined) signal.removeEventListener('abort', onAbort);
          resolve(item);
        },
      });
      const onAbort = (): void => {
        if (this.takers.remove(node)) reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Removes and returns every item, oldest first (blocked puts then move in). */
  drain(): T[] {
    const out: T[] = [];
    while (this.count > 0) out.push(this.shiftRing());
    this.admitBlocked();
    return out;
  }

  private accept(item: T): OfferResult {
    this.c.accepted++;
    const taker = this.takers.shift();
    if (taker !== undefined) taker.resolve(item);
    else this.pushRing(item);
    return 'accepted';
  }

  private admitBlocked(): void {
    while (this.count < this.capacity) {
      const p = this.putters.shift();
      if (p === undefined) return;
      p.resolve(this.accept(p.item));
    }
  }

  private pushRing(item: T): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = item;
    this.count++;
    if (this.count > this.c.highWater) this.c.highWater = this.count;
  }

  private shiftRing(): T {
    const item = this.ring[this.head] as T;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return item;
  }

  private grow(): void {
    const size = Math.min(this.capacity, Math.max(8, this.ring.length * 2));
    const next = new Array<T | undefined>(size);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
  }
}
