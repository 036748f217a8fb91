/**
 * Commands survive a broker restart (issue 5: "commands in order across a broker restart
 * with the device offline in between"): the broker on a SqliteStore and the platform on a
 * SqlitePlatformStore in one temp dir; a command in flight and three queued while the
 * device is offline; broker and services stopped and started again on the same files; the
 * device comes back (its persistent session restored) and gets the in-flight one again,
 * then the queued ones, in order; new commands continue the device's seq.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlitePlatformStore } from '../../src/adapters/persistence/sqlite/index.js';
import { removeDir, sqliteAt, storeTempDir } from '../helpers/store-fixtures.js';
import { addDevice, Device, startPlatformBroker, type PlatformBroker } from './platform-commands-helpers.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => undefined);
});

async function onDir(dir: string): Promise<PlatformBroker> {
  const b = await startPlatformBroker({ store: sqliteAt(dir), platform: new SqlitePlatformStore({ file: join(dir, 'platform.db') }) });
  cleanup.push(() => b.stop({ closePlatform: true }));
  return b;
}

describe('issue 5 commands across a broker restart', () => {
  it('commands in order across a broker restart with the device offline in between', async () => {
    const dir = storeTempDir('holdfast-commands-restart-');
    cleanup.push(() => removeDir(dir));

    const b1 = await onDir(dir);
    await addDevice(b1.platform, 'meter-7');
    const before = await Device.connect(b1.port, 'meter-7', { persistent: true });
    const c0 = await b1.commands.send('meter-7', { name: 'c0', payload: { n: 0 } });
    await before.waitFor('commands');
    await before.end(); // offline with c0 unanswered
    const queued = [];
    for (let i = 1; i <= 3; i++) queued.push(await b1.commands.send('meter-7', { name: `c${i}`, payload: { n: i } }));
    await b1.commands.idle();
    expect((await b1.commands.list('meter-7')).map((c) => `${c.name}:${c.state}`)).toEqual(['c0:sent', 'c1:queued', 'c2:queued', 'c3:queued']);
    await b1.stop({ closePlatform: true });

    const b2 = await onDir(dir);
    const d = await Device.connect(b2.port, 'meter-7', { persistent: true, subscribe: false });
    cleanup.push(() => d.end());
    expect(d.sessionPresent).toBe(true);

    const answered = new Set<string>();
    for (;;) {
      const next = d.commands().find((p) => !answered.has(d.commandId(p)));
      if (next === undefined) {
        if (answered.size === 4) break;
        await d.waitFor('commands', d.commands().length + 1);
        continue;
      }
      answered.add(d.commandId(next));
      await d.respond(next, { ok: true, result: d.json(next) });
    }
    const firstSeen = [...new Set(d.commands().map((p) => d.commandName(p)))];
    expect(firstSeen).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(await b2.commands.wait(c0.id, 5000)).toMatchObject({ state: 'acked', result: { n: 0 } });
    for (const [i, c] of queued.entries()) {
      expect(await b2.commands.wait(c.id, 5000)).toMatchObject({ state: 'acked', attempts: 1, result: { n: i + 1 } });
    }
    const c4 = await b2.commands.send('meter-7', { name: 'c4' });
    expect(c4.seq).toBe(5);
  });
});
