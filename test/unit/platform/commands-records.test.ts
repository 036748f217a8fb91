/**
 * Command records (issue 5): input checks, the state transitions and the relative timeout
 * kept as an invariant of deadlineAt (queued: from createdAt; sent: from the last send).
 */
import { describe, expect, it } from 'vitest';
import { acked, attempted, checkNewCommand, expired, failed, isFinal, newCommandRecord, timeoutOf } from '../../../src/platform/commands/command-records.js';
import { CommandWaiters } from '../../../src/platform/commands/command-waiters.js';
import { isPlatformError } from '../../../src/platform/errors.js';

const defaults = { defaultTimeoutMs: 30_000, maxAttempts: 3, maxPayloadBytes: 64 };

describe('issue 5 commands: input', () => {
  it('fills in the defaults and refuses bad input with INVALID_INPUT', () => {
    expect(checkNewCommand({ name: 'x' }, defaults)).toEqual({ timeoutMs: 30_000, maxAttempts: 3 });
    expect(checkNewCommand({ name: 'x', timeoutMs: 5, maxAttempts: 1 }, defaults)).toEqual({ timeoutMs: 5, maxAttempts: 1 });
    const bad = [
      { name: '' },
      { name: 'n'.repeat(129) },
      { name: 'x', timeoutMs: 0 },
      { name: 'x', timeoutMs: 1.5 },
      { name: 'x', maxAttempts: 0 },
      { name: 'x', maxAttempts: 101 },
      { name: 'x', payload: 'p'.repeat(100) },
      { name: 'x', payload: 10n },
    ];
    for (const c of bad) {
      let err: unknown;
      try {
        checkNewCommand(c, defaults);
      } catch (e) {
        err = e;
      }
      expect(isPlatformError(err, 'INVALID_INPUT'), JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? 'bigint' : v))).toBe(true);
    }
  });
});

describe('issue 5 commands: transitions', () => {
  it('queued (deadline = created + timeout) -> sent (deadline = sent + timeout) -> retried -> final', () => {
    const q = newCommandRecord('d', 4, { name: 'x', payload: 1 }, { timeoutMs: 1000, maxAttempts: 2 }, 100);
    expect(q).toMatchObject({ deviceId: 'd', seq: 4, state: 'queued', deadlineAt: 1100, attempts: 0 });
    expect(timeoutOf(q)).toBe(1000);
    const s1 = attempted(q, 900); // sent late in its queued life: the attempt still gets the full timeout
    expect(s1).toMatchObject({ state: 'sent', attempts: 1, updatedAt: 900, deadlineAt: 1900 });
    expect(timeoutOf(s1)).toBe(1000);
    const s2 = attempted(s1, 1900);
    expect(s2).toMatchObject({ attempts: 2, deadlineAt: 2900 });
    expect(acked(s2, { r: 1 }, 2000)).toMatchObject({ state: 'acked', result: { r: 1 } });
    expect(failed(s2, 'boom', 2000)).toMatchObject({ state: 'failed', error: 'boom' });
    expect(expired(q, 1100)).toMatchObject({ state: 'expired', attempts: 0 });
    expect(['queued', 'sent', 'acked', 'failed', 'expired'].map((s) => isFinal(s as never))).toEqual([false, false, true, true, true]);
  });
});

describe('issue 5 commands: waiters', () => {
  it('settles every waiter of a command once, removes cleanly, and is bounded', () => {
    const w = new CommandWaiters(3);
    const seen: string[] = [];
    const rec = newCommandRecord('d', 1, { name: 'x' }, { timeoutMs: 1, maxAttempts: 1 }, 0);
    const r1 = w.add(rec.id, () => seen.push('1'));
    w.add(rec.id, () => seen.push('2'));
    const r3 = w.add('other', () => seen.push('3'));
    expect(w.add('more', () => undefined)).toBeUndefined();
    r3!();
    expect(w.size).toBe(2);
    w.settle(acked(rec, null, 1));
    r1!(); // removing after settling is a no-op
    expect(seen).toEqual(['1', '2']);
    expect(w.size).toBe(0);
    w.settle(rec);
    expect(seen).toHaveLength(2);
  });
});
