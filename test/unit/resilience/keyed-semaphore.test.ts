import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEMAPHORE_FULL } from '../../../src/resilience/errors.js';
import { KeyedSemaphore, fnv1a, type Release } from '../../../src/resilience/keyed-semaphore.js';
import { flush } from './virtual-time.js';

type Op =
  | { kind: 'acquire'; key: number; withSignal: boolean }
  | { kind: 'try'; key: number }
  | { kind: 'release'; pick: number; twice: boolean }
  | { kind: 'abort'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('acquire' as const), key: fc.integer({ min: 0, max: 7 }), withSignal: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('try' as const), key: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), twice: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
);

interface Waiting {
  shard: number;
  seq: number;
  controller: AbortController | undefined;
  done: boolean;
}

describe('KeyedSemaphore', () => {
  it('property: never over-admits, never idles with waiters, grants FIFO per shard, bounds its waiters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { maxLength: 80 }),
        async (permits, shards, maxWaiters, ops) => {
          const sem = new KeyedSemaphore({ permitsPerShard: permits, shards, maxWaitersPerShard: maxWaiters });
          const holders: Array<{ shard: number; release: Release }> = [];
          const waiting: Waiting[] = [];
          const granted = new Map<number, number[]>();
          let seq = 0;
          const refusals: Array<[number, number]> = [];
          const keyOfShard = new Map<number, string>();
          for (let k = 0; k < 8; k++) keyOfShard.set(sem.shardOf(`k${k}`), `k${k}`);

          for (const o of ops) {
            if (o.kind === 'acquire') {
              const key = `k${o.key}`;
              const shard = sem.shardOf(key);
              const waitingBefore = sem.waiting(key);
              const heldBefore = sem.inUse(key);
              const w: Waiting = { shard, seq: seq++, controller: o.withSignal ? new AbortController() : undefined, done: false };
              sem.acquire(key, w.controller?.signal).then(
                (release) => {
                  w.done = true;
                  holders.push({ shard, release });
                  granted.set(shard, [...(granted.get(shard) ?? []), w.seq]);
                },
                (err: { code?: string }) => {
                  w.done = true;
                  if (err.code === SEMAPHORE_FULL) refusals.push([heldBefore, waitingBefore]);
                },
              );
              waiting.push(w);
            } else if (o.kind === 'try') {
              const key = `k${o.key}`;
              const free = sem.inUse(key) < permits && sem.waiting(key) === 0;
              const r = sem.tryAcquire(key);
              expect(r !== undefined).toBe(free);
              if (r !== undefined) holders.push({ shard: sem.shardOf(key), release: r });
            } else if (o.kind === 'release' && holders.length > 0) {
              const [h] = holders.splice(o.pick % holders.length, 1);
              h.release();
              if (o.twice) h.release(); // idempotent
            } else if (o.kind === 'abort') {
              const live = waiting.filter((w) => !w.done && w.controller !== undefined);
              if (live.length > 0) live[o.pick % live.length].controller!.abort(new Error('gave up'));
            }
            await flush();
            for (let s = 0; s < shards; s++) {
              const key = keyOfShard.get(s);
              const held = holders.filter((h) => h.shard === s).length;
              if (key === undefined) {
                expect(held).toBe(0);
                continue;
              }
              expect(sem.inUse(key)).toBe(held);
              expect(held).toBeLessThanOrEqual(permits);
              expect(sem.waiting(key)).toBeLessThanOrEqual(maxWaiters);
              expect(sem.waiting(key)).toBe(waiting.filter((w) => w.shard === s && !w.done).length);
              if (sem.waiting(key) > 0) expect(held).toBe(permits);
            }
          }
          for (const r of refusals) expect(r).toEqual([permits, maxWaiters]);
          for (const order of granted.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a waiter whose signal aborts leaves the line with the reason; a freed slot goes to the next one', async () => {
    const sem = new KeyedSemaphore({ permitsPerShard: 1, shards: 1 });
    const first = await sem.acquire('device-1');
    const c = new AbortController();
    const second = sem.acquire('device-2', c.signal);
    const third = sem.acquire('device-3');
    expect(sem.waiting('x')).toBe(2);
    c.abort(new Error('deadline'));
    await expect(second).rejects.toThrow('deadline');
    expect(sem.waiting('x')).toBe(1);
    first();
    const r3 = await third;
    expect(sem.inUse('x')).toBe(1);
    r3();
    expect(sem.inUse('x')).toBe(0);
    expect(sem.counters).toEqual({ acquired: 2, waited: 2, rejected: 0, aborted: 1 });
  });

  it('refuses at once with SEMAPHORE_FULL beyond maxWaitersPerShard', async () => {
    const sem = new KeyedSemaphore({ name: 'auth', permitsPerShard: 1, shards: 1, maxWaitersPerShard: 1 });
    await sem.acquire('a');
    void sem.acquire('b');
    await expect(sem.acquire('c')).rejects.toMatchObject({ code: SEMAPHORE_FULL, details: { semaphore: 'auth', maxWaiters: 1 } });
  });

  it('keys in different shards do not share slots; a hot key cannot take another shard', () => {
    const sem = new KeyedSemaphore({ permitsPerShard: 2, shards: 16 });
    let other = 'b';
    for (let i = 0; sem.shardOf(other) === sem.shardOf('hot'); i++) other = `b${i}`;
    expect(sem.tryAcquire('hot')).toBeDefined();
    expect(sem.tryAcquire('hot')).toBeDefined();
    expect(sem.tryAcquire('hot')).toBeUndefined();
    expect(sem.tryAcquire(other)).toBeDefined();
    expect(fnv1a('hot')).toBe(fnv1a('hot'));
  });
});
