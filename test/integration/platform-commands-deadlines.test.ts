/**
 * Command deadlines over real sockets with a ManualClock (issue 5): a sent command not
 * acknowledged by its deadline is sent again as a new attempt (same command id), then
 * failed after maxAttempts; a queued command past its deadline is expired and never
 * delivered; a device that dropped off gets its sent command again when it comes back.
 * The sweep timer is set far out: the tests run sweep() themselves after moving the clock.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { newCommandRecord } from '../../src/platform/commands/command-records.js';
import { ManualClock } from '../../src/ports/clock.js';
import { addDevice, Device, startPlatformBroker, type PlatformBroker } from './platform-commands-helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

async function clocked(commands: Parameters<typeof startPlatformBroker>[0] = {}): Promise<{ b: PlatformBroker; clock: ManualClock }> {
  const clock = new ManualClock();
  const b = await startPlatformBroker({ clock, ...commands, commands: { sweepIntervalMs: 3_600_000, ...commands.commands } });
  cleanup.push(() => b.stop());
  return { b, clock };
}

async function device(b: PlatformBroker, id: string, o: Parameters<typeof Device.connect>[2] = {}): Promise<Device> {
  const d = await Device.connect(b.port, id, o);
  cleanup.push(() => d.end());
  return d;
}

async function sweep(b: PlatformBroker): Promise<void> {
  await b.commands.sweep();
  await b.commands.idle();
}

describe('issue 5 commands: retries and failure at the deadline', () => {
  it('not acknowledged by the deadline -> sent again (attempt 2, same id) -> failed after maxAttempts; the next one follows', async () => {
    const { b, clock } = await clocked();
    await addDevice(b.platform, 'r1');
    const d = await device(b, 'r1');
    const t0 = clock.now();
    const x = await b.commands.send('r1', { name: 'x', timeoutMs: 1000, maxAttempts: 2 });
    const y = await b.commands.send('r1', { name: 'y' });
    await d.waitFor('commands');
    await b.commands.idle();
    expect(await b.commands.get(x.id)).toMatchObject({ state: 'sent', attempts: 1, deadlineAt: t0 + 1000 });

    clock.advance(999);
    await sweep(b);
    expect(await b.commands.get(x.id)).toMatchObject({ state: 'sent', attempts: 1 });

    clock.advance(1);
    await sweep(b);
    const two = await d.waitFor('commands', 2);
    expect(d.commandId(two[1])).toBe(x.id);
    expect(await b.commands.get(x.id)).toMatchObject({ state: 'sent', attempts: 2, deadlineAt: t0 + 2000 });
    expect((await b.commands.get(y.id)).state).toBe('queued');

    const waiting = b.commands.wait(x.id, 10_000);
    clock.advance(1000);
    await sweep(b);
    const r = await waiting;
    expect(r).toMatchObject({ state: 'failed', attempts: 2, error: 'no response after 2 attempts' });

    // Window 1 is free again: y goes out. A late answer to x changes nothing.
    const three = await d.waitFor('commands', 3);
    expect(d.commandName(three[2])).toBe('y');
    await d.respond(two[1], { ok: true });
    await b.commands.idle();
    expect((await b.commands.get(x.id)).state).toBe('failed');
  });

  it('an answer to the second attempt acknowledges the command', async () => {
    const { b, clock } = await clocked();
    await addDevice(b.platform, 'r2');
    const d = await device(b, 'r2', { version: 4 });
    const x = await b.commands.send('r2', { name: 'x', timeoutMs: 500, maxAttempts: 3 });
    await d.waitFor('commands');
    clock.advance(500);
    await sweep(b);
    const two = await d.waitFor('commands', 2);
    expect(d.json(two[1])).toMatchObject({ id: x.id, name: 'x' });
    await d.respond(two[1], { ok: true, result: 'second time lucky' });
    expect(await b.commands.wait(x.id, 5000)).toMatchObject({ state: 'acked', attempts: 2, result: 'second time lucky' });
  });

  it('a device that dropped off with a command in flight gets it again when it comes back', async () => {
    const { b, clock } = await clocked();
    await addDevice(b.platform, 'r3');
    const first = await Device.connect(b.port, 'r3', { persistent: true });
    const x = await b.commands.send('r3', { name: 'x', timeoutMs: 1000, maxAttempts: 3 });
    await first.waitFor('commands');
    await first.end();
    // The deadline passes while it is away: that attempt is over, the next is due on its return.
    clock.advance(1000);
    await sweep(b);
    expect(await b.commands.get(x.id)).toMatchObject({ state: 'sent', attempts: 2 });

    const d = await device(b, 'r3', { persistent: true, subscribe: false });
    const [again] = await d.waitFor('commands');
    expect(d.commandId(again)).toBe(x.id);
    await d.respond(again, { ok: true });
    expect(await b.commands.wait(x.id, 5000)).toMatchObject({ state: 'acked', attempts: 2 });
  });
});

describe('issue 5 commands: expiry', () => {
  it('queued past the deadline -> expired, never delivered; the unexpired one is delivered', async () => {
    const { b, clock } = await clocked();
    await addDevice(b.platform, 'e1');
    const sub = await Device.connect(b.port, 'e1', { persistent: true });
    await sub.end();

    const a = await b.commands.send('e1', { name: 'a', timeoutMs: 1000 });
    const late = await b.commands.send('e1', { name: 'late', timeoutMs: 2000 });
    const late2 = await b.commands.send('e1', { name: 'late2', timeoutMs: 2000 });
    const late3 = await b.commands.send('e1', { name: 'late3', timeoutMs: 2000 });
    const keep = await b.commands.send('e1', { name: 'keep', timeoutMs: 60_000 });
    clock.advance(1000);
    await sweep(b); // a expires in the sweep
    const ra = await b.commands.wait(a.id, 0);
    expect(ra).toMatchObject({ state: 'expired', attempts: 0 });
    expect(ra.error).toMatch(/deadline/);
    // The late ones are past their deadline too, but no sweep has seen them: delivery checks
    // (three of them: more than one read of 2 x window commands).
    clock.advance(1000);

    const d = await device(b, 'e1', { persistent: true, subscribe: false });
    const [p] = await d.waitFor('commands');
    expect(d.commandName(p)).toBe('keep');
    await d.respond(p, { ok: true });
    expect(await b.commands.wait(keep.id, 5000)).toMatchObject({ state: 'acked' });
    await b.commands.idle();
    for (const c of [late, late2, late3]) expect(await b.commands.get(c.id)).toMatchObject({ state: 'expired', attempts: 0 });
    expect(d.commands().map((m) => d.commandName(m))).toEqual(['keep']);
  });
});

describe('issue 5 commands: more open commands in the store than the queue bound', () => {
  it('the sweep expires the ones past the part of the queue held in memory too', async () => {
    const { b, clock } = await clocked({ commands: { maxQueuedPerDevice: 2 } });
    await addDevice(b.platform, 'big1');
    const t0 = clock.now();
    // Written as a store with a larger bound left them (maxQueuedPerDevice was lowered since).
    for (let seq = 1; seq <= 4; seq++) {
      await b.platform.putCommand(newCommandRecord('big1', seq, { name: `c${seq}` }, { timeoutMs: 1000, maxAttempts: 1 }, t0));
    }
    await expect(b.commands.send('big1', { name: 'more' })).rejects.toMatchObject({ code: 'COMMAND_QUEUE_FULL' });
    clock.advance(1001);
    await sweep(b);
    expect((await b.commands.list('big1')).map((c) => `${c.name}:${c.state}`)).toEqual(['c1:expired', 'c2:expired', 'c3:expired', 'c4:expired']);
    const next = await b.commands.send('big1', { name: 'after' });
    expect(next.seq).toBe(5);
  });
});
