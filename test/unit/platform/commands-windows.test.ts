/**
 * The in-memory open-command windows of the command service (issue 5, round trip at
 * 10,000 devices): loaded from the store on first use, changed only by the writes they
 * mirror, bounded (least recently used dropped, reloaded on use), a window loaded full
 * reloaded once it has room.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPlatformStore } from '../../../src/adapters/persistence/memory/memory-platform-store.js';
import { acked, attempted, newCommandRecord } from '../../../src/platform/commands/command-records.js';
import { CommandWindows } from '../../../src/platform/commands/command-windows.js';
import type { CommandRecord } from '../../../src/ports/platform-store.js';

const limits = { timeoutMs: 60_000, maxAttempts: 3 };
const cmd = (deviceId: string, seq: number): CommandRecord => newCommandRecord(deviceId, seq, { name: `c${seq}` }, limits, 1000);

async function storeWith(...cs: CommandRecord[]): Promise<MemoryPlatformStore> {
  const store = new MemoryPlatformStore();
  await store.open();
  for (const c of cs) await store.putCommand(c);
  return store;
}

describe('issue 5 commands: per-device windows', () => {
  it('loads the open commands in seq order and the last seq (final ones included) from the store', async () => {
    const a1 = cmd('a', 1);
    const a2 = cmd('a', 2);
    const a3 = cmd('a', 3);
    const store = await storeWith(acked(attempted(a1, 1), null, 2), attempted(a2, 3), a3);
    const windows = new CommandWindows(store, { maxDevices: 10, maxCommands: 100, loadLimit: 10 });
    const w = await windows.get('a');
    expect(w.open.map((c) => [c.seq, c.state])).toEqual([
      [2, 'sent'],
      [3, 'queued'],
    ]);
    expect(w.lastSeq).toBe(3);
    expect((await windows.get('none')).lastSeq).toBe(0);
  });

  it('apply() replaces, inserts in seq order and removes final commands; isOpen() follows', async () => {
    const store = await storeWith();
    const windows = new CommandWindows(store, { maxDevices: 10, maxCommands: 100, loadLimit: 10 });
    const w = await windows.get('a');
    const c2 = cmd('a', 2);
    const c1 = cmd('a', 1);
    windows.apply(w, c2);
    windows.apply(w, c1);
    expect(w.open.map((c) => c.seq)).toEqual([1, 2]);
    expect(w.lastSeq).toBe(2);
    windows.apply(w, attempted(c1, 5));
    expect(w.open[0].state).toBe('sent');
    expect(windows.isOpen('a', c1.id)).toBe(true);
    windows.apply(w, acked(attempted(c1, 5), 'ok', 6));
    expect(w.open.map((c) => c.seq)).toEqual([2]);
    expect(windows.isOpen('a', c1.id)).toBe(false);
    expect(windows.isOpen('b', c2.id)).toBe(false);
  });

  it('keeps at most maxDevices windows and maxCommands records: the least recently used go, and reload as they were', async () => {
    const store = await storeWith(cmd('a', 1), cmd('b', 1), cmd('b', 2), cmd('c', 1));
    const windows = new CommandWindows(store, { maxDevices: 2, maxCommands: 3, loadLimit: 10 });
    await windows.get('a');
    await windows.get('b');
    await windows.get('a'); // a is now the most recent
    await windows.get('c'); // over both bounds: b (least recent) goes
    expect(windows.peek('b')).toBeUndefined();
    expect(windows.peek('a')).toBeDefined();
    expect(windows.size).toBe(2);
    expect(windows.evictions).toBe(1);
    expect((await windows.get('b')).open.map((c) => c.seq)).toEqual([1, 2]);
    expect(windows.size).toBeLessThanOrEqual(2);
  });

  it('a window loaded full is read again once it has room (the store held more open commands)', async () => {
    const cs = [1, 2, 3, 4].map((s) => cmd('a', s));
    const store = await storeWith(...cs);
    const windows = new CommandWindows(store, { maxDevices: 10, maxCommands: 100, loadLimit: 2 });
    const w = await windows.get('a');
    expect(w.truncated).toBe(true);
    expect(w.open.map((c) => c.seq)).toEqual([1, 2]);
    const done = acked(attempted(cs[0], 2), null, 3);
    await store.putCommand(done);
    windows.apply(w, done);
    const again = await windows.get('a');
    expect(again.open.map((c) => c.seq)).toEqual([2, 3]);
    expect(again.lastSeq).toBe(4);
  });

  it('forget() drops a window: the next use reads the store', async () => {
    const c = cmd('a', 1);
    const store = await storeWith(c);
    const windows = new CommandWindows(store, { maxDevices: 10, maxCommands: 100, loadLimit: 10 });
    expect((await windows.get('a')).open).toHaveLength(1);
    await store.putCommand(acked(attempted(c, 2), null, 3)); // written behind the window's back
    expect((await windows.get('a')).open).toHaveLength(1);
    windows.forget('a');
    expect(windows.peek('a')).toBeUndefined();
    expect((await windows.get('a')).open).toHaveLength(0);
  });
});
