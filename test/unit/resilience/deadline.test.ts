import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HoldfastError } from '../../../src/errors/index.js';
import {
  deadlineOf,
  inheritDeadline,
  isDeadlineExceeded,
  raceSignal,
  runWithDeadline,
  withDeadline,
} from '../../../src/resilience/deadline.js';
import { DEADLINE_EXCEEDED } from '../../../src/resilience/errors.js';
import { VirtualTime, flush } from './virtual-time.js';

const listeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length;

describe('withDeadline', () => {
  it('its own deadline aborts with DEADLINE_EXCEEDED naming the operation, and leaves nothing behind', async () => {
    const vt = new VirtualTime();
    const parent = new AbortController();
    const d = withDeadline(parent.signal, 800, 'store.write', { clock: vt, scheduler: vt });
    expect(d.deadlineAt).toBe(vt.now() + 800);
    expect(listeners(parent.signal)).toBe(1);
    await vt.advance(799);
    expect(d.signal.aborted).toBe(false);
    expect(d.remainingMs()).toBe(1);
    await vt.advance(1);
    expect(d.signal.aborted).toBe(true);
    const reason: unknown = d.signal.reason;
    expect(reason).toBeInstanceOf(HoldfastError);
    expect(reason).toMatchObject({ code: DEADLINE_EXCEEDED, details: { operation: 'store.write', timeoutMs: 800 } });
    expect((reason as Error).message).toContain('store.write');
    expect(isDeadlineExceeded(reason, 'store.write')).toBe(true);
    expect(isDeadlineExceeded(reason, 'cache.read')).toBe(false);
    expect(vt.pending).toBe(0);
    expect(listeners(parent.signal)).toBe(0);
    expect(parent.signal.aborted).toBe(false);
  });

  it("a parent's abort reaches the child at once with the parent's reason, and clears the child's timer", () => {
    const vt = new VirtualTime();
    const parent = new AbortController();
    const d = withDeadline(parent.signal, 800, 'auth', { clock: vt, scheduler: vt });
    expect(vt.pending).toBe(1);
    const why = new Error('connection closed');
    parent.abort(why);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(why);
    expect(vt.pending).toBe(0);
  });

  it('an already aborted parent gives an already aborted child', () => {
    const parent = new AbortController();
    parent.abort(new Error('gone'));
    const d = withDeadline(parent.signal, 100, 'x');
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('gone');
  });

  it("a parent deadline earlier than the child's fires first and names the parent's operation", async () => {
    const vt = new VirtualTime();
    const outer = withDeadline(undefined, 300, 'connect', { clock: vt, scheduler: vt });
    const inner = withDeadline(outer.signal, 800, 'auth', { clock: vt, scheduler: vt });
    expect(inner.deadlineAt).toBe(outer.deadlineAt);
    expect(deadlineOf(inner.signal)).toBe(outer.deadlineAt);
    expect(vt.pending).toBe(1); // no second timer: the parent's fires first
    await vt.advance(300);
    expect(isDeadlineExceeded(inner.signal.reason, 'connect')).toBe(true);
  });

  it('dispose releases the timer and the listener on a long-lived parent (no leak over many calls)', () => {
    const vt = new VirtualTime();
    const connection = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const d = withDeadline(connection.signal, 1000, 'op', { clock: vt, scheduler: vt });
      d.dispose();
      d.dispose();
    }
    expect(vt.pending).toBe(0);
    expect(listeners(connection.signal)).toBe(0);
  });

  it('0 ms is already expired; Infinity sets no timer', () => {
    const vt = new VirtualTime();
    expect(isDeadlineExceeded(withDeadline(undefined, 0, 'now', { clock: vt, scheduler: vt }).signal.reason, 'now')).toBe(true);
    const d = withDeadline(undefined, Infinity, 'never', { clock: vt, scheduler: vt });
    expect(vt.pending).toBe(0);
    expect(d.deadlineAt).toBe(Infinity);
    expect(() => withDeadline(undefined, -1, 'bad')).toThrow(/deadline ms/);
  });

  it('property: a chain of deadlines aborts at the earliest one, with that one named', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 5 }), async (msList) => {
        const vt = new VirtualTime(0);
        let parent: AbortSignal | undefined;
        const chain = msList.map((ms, i) => {
          const d = withDeadline(parent, ms, `op${i}`, { clock: vt, scheduler: vt });
          parent = d.signal;
          return d;
        });
        const leaf = chain[chain.length - 1];
        const earliest = Math.min(...msList);
        const first = msList.indexOf(earliest);
        expect(leaf.deadlineAt).toBe(earliest);
        await vt.advance(earliest - 1);
        expect(leaf.signal.aborted).toBe(false);
        await vt.advance(1);
        expect(leaf.signal.aborted).toBe(true);
        expect(isDeadlineExceeded(leaf.signal.reason, `op${first}`)).toBe(true);
        // links above the first expired one are still alive
        chain.slice(0, first).forEach((d) => expect(d.signal.aborted).toBe(false));
        chain.forEach((d) => d.dispose());
        expect(vt.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe('inheritDeadline', () => {
  it("is the caller's signal and deadline, unchanged; without a caller it never aborts", () => {
    const vt = new VirtualTime();
    const outer = withDeadline(undefined, 500, 'request', { clock: vt, scheduler: vt });
    const d = inheritDeadline(outer.signal, { clock: vt });
    expect(d.signal).toBe(outer.signal);
    expect(d.deadlineAt).toBe(outer.deadlineAt);
    expect(d.remainingMs()).toBe(500);
    const none = inheritDeadline(undefined);
    expect(none.signal.aborted).toBe(false);
    expect(none.deadlineAt).toBe(Infinity);
  });
});

describe('runWithDeadline / raceSignal', () => {
  it('settles at the deadline even when the work ignores its signal', async () => {
    const vt = new VirtualTime();
    const p = runWithDeadline(undefined, 200, 'hook.authenticate', () => new Promise<never>(() => {}), { clock: vt, scheduler: vt });
    let settled: unknown;
    p.catch((e: unknown) => (settled = e));
    await vt.advance(199);
    expect(settled).toBeUndefined();
    await vt.advance(1);
    expect(isDeadlineExceeded(settled, 'hook.authenticate')).toBe(true);
  });

  it('returns the result and disposes the deadline when the work finishes in time', async () => {
    const vt = new VirtualTime();
    const parent = new AbortController();
    const v = await runWithDeadline(parent.signal, 200, 'op', async (s) => (s.aborted ? 'no' : 'yes'), { clock: vt, scheduler: vt });
    expect(v).toBe('yes');
    expect(vt.pending).toBe(0);
    expect(listeners(parent.signal)).toBe(0);
  });

  it('raceSignal removes its listener whichever way it settles', async () => {
    const c = new AbortController();
    await raceSignal(Promise.resolve(1), c.signal);
    await raceSignal(Promise.reject(new Error('x')), c.signal).catch(() => {});
    expect(listeners(c.signal)).toBe(0);
    const pending = raceSignal(new Promise(() => {}), c.signal);
    c.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await flush();
  });
});
