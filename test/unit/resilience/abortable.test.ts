import { describe, expect, it } from 'vitest';
import { abortable } from '../../../src/resilience/index.js';

const gone = () => new Error('aborted by the caller');

describe('abortable', () => {
  it('resolves with the work when the signal stays quiet, and leaves no listener behind', async () => {
    const ac = new AbortController();
    await expect(abortable(Promise.resolve(7), ac.signal, gone)).resolves.toBe(7);
    // A listener left behind would fire here and reject nothing, but would be counted by the event target.
    ac.abort();
  });

  it('passes the work error through unchanged', async () => {
    const err = new Error('sink said no');
    await expect(abortable(Promise.reject(err), new AbortController().signal, gone)).rejects.toBe(err);
  });

  it('rejects with onAbort() as soon as the signal aborts; the late result of the work is dropped', async () => {
    const ac = new AbortController();
    let finish!: (v: number) => void;
    const work = new Promise<number>((r) => (finish = r));
    const p = abortable(work, ac.signal, gone);
    ac.abort();
    await expect(p).rejects.toThrow('aborted by the caller');
    finish(1); // no unhandled rejection, no second settle
  });

  it('an already aborted signal rejects at once and swallows a later failure of the work', async () => {
    const ac = new AbortController();
    ac.abort();
    let fail!: (e: Error) => void;
    const work = new Promise<number>((_, rej) => (fail = rej));
    await expect(abortable(work, ac.signal, gone)).rejects.toThrow('aborted by the caller');
    fail(new Error('late')); // must not surface as an unhandled rejection (vitest fails the run if it does)
    await new Promise((r) => setImmediate(r));
  });
});
