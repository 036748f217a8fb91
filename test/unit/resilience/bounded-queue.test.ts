import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue, type FullPolicy, type OfferResult } from '../../../src/resilience/bounded-queue.js';
import { isDeadlineExceeded } from '../../../src/resilience/deadline.js';
import { QUEUE_FULL } from '../../../src/resilience/errors.js';
import { VirtualTime, flush } from './virtual-time.js';

describe('BoundedQueue', () => {
  it('property: drop-oldest / drop-newest / reject behave as a plain array model, counted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FullPolicy>('drop-oldest', 'drop-newest', 'reject'),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.oneof(fc.constant('poll' as const), fc.integer({ min: 0, max: 1000 })), { maxLength: 100 }),
        (policy, capacity, ops) => {
          const dropped: Array<[number, string]> = [];
          const q = new BoundedQueue<number>({ capacity, policy, onDrop: (item, why) => dropped.push([item, why]) });
          const model: number[] = [];
          const modelDropped: Array<[number, string]> = [];
          const count = { accepted: 0, droppedOldest: 0, droppedNewest: 0, rejected: 0 };
          let highWater = 0;
          for (const o of ops) {
            if (o === 'poll') {
              expect(q.poll()).toBe(model.shift());
            } else {
              let expected: OfferResult = 'accepted';
              if (model.length < capacity) model.push(o);
              else if (policy === 'drop-oldest') {
                modelDropped.push([model.shift()!, 'dropped-oldest']);
                model.push(o);
                expected = 'dropped-oldest';
                count.droppedOldest++;
              } else {
                expected = policy === 'drop-newest' ? 'dropped-newest' : 'rejected';
                modelDropped.push([o, expected]);
                if (policy === 'drop-newest') count.droppedNewest++;
                else count.rejected++;
              }
              if (expected === 'accepted' || expected === 'dropped-oldest') count.accepted++;
              expect(q.offer(o)).toBe(expected);
            }
            highWater = Math.max(highWater, model.length);
            expect(q.length).toBe(model.length);
            expect(q.peek()).toBe(model[0]);
          }
          expect(dropped).toEqual(modelDropped);
          expect(q.counters).toMatchObject({ ...count, highWater });
          expect(q.drain()).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('block: a put on a full queue waits for room, blocked puts enter in order', async () => {
    const q = new BoundedQueue<string>({ capacity: 1, policy: 'block' });
    expect(await q.put('a')).toBe('accepted');
    const results: string[] = [];
    void q.put('b').then((r) => results.push(`b:${r}`));
    void q.put('c').then((r) => results.push(`c:${r}`));
    await flush();
    expect(q.blockedPuts).toBe(2);
    expect(q.offer('d')).toBe('rejected'); // offer never waits
    expect(q.poll()).toBe('a');
    await flush();
    expect(results).toEqual(['b:accepted']);
    expect(q.poll()).toBe('b');
    expect(q.poll()).toBe('c');
    await flush();
    expect(results).toEqual(['b:accepted', 'c:accepted']);
    expect(q.counters).toMatchObject({ accepted: 3, blocked: 2, rejected: 1 });
  });

  it('block with deadline: a put gives up after blockMs with DEADLINE_EXCEEDED naming the queue, and is not queued', async () => {
    const vt = new VirtualTime();
    const q = new BoundedQueue<string>({ name: 'bridge', capacity: 1, policy: 'block', blockMs: 500, clock: vt, scheduler: vt });
    q.offer('a');
    const p = q.put('late').catch((e: unknown) => e);
    await vt.advance(499);
    expect(q.blockedPuts).toBe(1);
    await vt.advance(1);
    expect(isDeadlineExceeded(await p, 'bridge.put')).toBe(true);
    expect(q.blockedPuts).toBe(0);
    expect(q.drain()).toEqual(['a']);
    expect(q.counters.blockAborted).toBe(1);
    expect(vt.pending).toBe(0);
  });

  it("block: the caller's signal ends the wait with its reason; an entered put leaves no timer", async () => {
    const vt = new VirtualTime();
    const q = new BoundedQueue<number>({ capacity: 1, policy: 'block', blockMs: 1000, clock: vt, scheduler: vt });
    q.offer(1);
    const c = new AbortController();
    const p = q.put(2, c.signal).catch((e: unknown) => e);
    const entered = q.put(3);
    await flush();
    c.abort(new Error('client gone'));
    expect(((await p) as Error).message).toBe('client gone');
    q.poll();
    expect(await entered).toBe('accepted');
    expect(q.drain()).toEqual([3]);
    expect(vt.pending).toBe(0);
  });

  it('block: beyond maxBlocked waiting puts, a put is rejected at once', async () => {
    const q = new BoundedQueue<number>({ capacity: 1, policy: 'block', maxBlocked: 1 });
    q.offer(1);
    void q.put(2);
    expect(await q.put(3)).toBe('rejected');
  });

  it('take waits for an item (handed over directly) and honours its signal', async () => {
    const q = new BoundedQueue<string>({ capacity: 2, policy: 'reject', maxTakers: 1 });
    const t = q.take();
    await expect(q.take()).rejects.toMatchObject({ code: QUEUE_FULL });
    q.offer('x');
    expect(await t).toBe('x');
    expect(q.length).toBe(0);
    const c = new AbortController();
    const t2 = q.take(c.signal);
    c.abort(new Error('stop'));
    await expect(t2).rejects.toThrow('stop');
    q.offer('y');
    expect(q.poll()).toBe('y');
  });

  it('property (block): never holds more than capacity, and what comes out is what was accepted, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.oneof(fc.constant('poll' as const), fc.constant('abort' as const), fc.constant('put' as const)), { maxLength: 60 }),
        async (capacity, ops) => {
          const q = new BoundedQueue<number>({ capacity, policy: 'block', maxBlocked: 3 });
          const accepted: number[] = [];
          const out: number[] = [];
          const controllers: AbortController[] = [];
          let n = 0;
          for (const o of ops) {
            if (o === 'put') {
              const c = new AbortController();
              controllers.push(c);
              const item = n++;
              q.put(item, c.signal).then(
                (r) => {
                  if (r === 'accepted') accepted.push(item);
                },
                () => {},
              );
            } else if (o === 'abort') controllers.shift()?.abort(new Error('x'));
            else {
              const v = q.poll();
              if (v !== undefined) out.push(v);
            }
            await flush();
            expect(q.length).toBeLessThanOrEqual(capacity);
            if (q.blockedPuts > 0) expect(q.isFull).toBe(true);
          }
          out.push(...q.drain());
          await flush();
          out.push(...q.drain());
          expect(out).toEqual(accepted);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects options it cannot work with', () => {
    expect(() => new BoundedQueue({ capacity: 0, policy: 'reject' })).toThrow(/capacity/);
    expect(() => new BoundedQueue({ capacity: 1, policy: 'nope' as FullPolicy })).toThrow(/policy/);
  });
});
