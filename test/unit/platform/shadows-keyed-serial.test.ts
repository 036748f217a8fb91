/**
 * KeyedSerial: per-device order of the work that starts on the publish path (shadow
 * updates, command responses), concurrency across devices, and the per-key bound.
 */
import { describe, expect, it } from 'vitest';
import { KeyedSerial } from '../../../src/platform/shadows/keyed-serial.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('issue 5 KeyedSerial', () => {
  it('runs one key in submission order, one at a time, and other keys meanwhile', async () => {
    const s = new KeyedSerial(10);
    const log: string[] = [];
    const g = gate();
    const a1 = s.run('a', async () => {
      log.push('a1 start');
      await g.promise;
      log.push('a1 end');
    });
    const a2 = s.run('a', async () => {
      log.push('a2');
    });
    const b1 = s.run('b', async () => {
      log.push('b1');
    });
    await b1;
    expect(log).toEqual(['a1 start', 'b1']);
    expect(s.depth('a')).toBe(2);
    g.open();
    await Promise.all([a1, a2]);
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
    await s.drain();
    expect(s.size).toBe(0);
  });

  it('a failing task does not stop the ones after it', async () => {
    const s = new KeyedSerial(10);
    const failing = s.run('k', async () => {
      throw new Error('boom');
    });
    const next = s.run('k', async () => 42);
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });

  it('refuses bounded work beyond maxDepth per key, but runAlways still queues', async () => {
    const s = new KeyedSerial(2);
    const g = gate();
    const first = s.run('k', () => g.promise);
    const second = s.run('k', async () => 'second');
    expect(s.run('k', async () => 'refused')).toBeUndefined();
    expect(s.run('other', async () => 'ok')).toBeDefined();
    const always = s.runAlways('k', async () => 'always');
    g.open();
    await first;
    await expect(second).resolves.toBe('second');
    await expect(always).resolves.toBe('always');
    await s.drain();
    expect(s.depth('k')).toBe(0);
  });
});
