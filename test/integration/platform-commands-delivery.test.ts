/**
 * Commands (RPC) over real sockets (issue 5): delivered in order, `window` in flight at a
 * time; MQTT 5 request/response (MQTT5 4.10: Response Topic + Correlation Data, the
 * command name as a User Property) and the 3.1.1 JSON envelope; acknowledged (result) or
 * failed (error) by the device; wait() long-poll; COMMAND_QUEUE_FULL; a device offline
 * gets its commands when it comes back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandRecord } from '../../src/ports/platform-store.js';
import { isPlatformError } from '../../src/platform/errors.js';
import { addDevice, Device, startPlatformBroker, type PlatformBroker } from './platform-commands-helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

async function platformBroker(opts: Parameters<typeof startPlatformBroker>[0] = {}): Promise<PlatformBroker> {
  const b = await startPlatformBroker(opts);
  cleanup.push(() => b.stop());
  return b;
}

async function device(b: PlatformBroker, id: string, o: Parameters<typeof Device.connect>[2] = {}): Promise<Device> {
  const d = await Device.connect(b.port, id, o);
  cleanup.push(() => d.end());
  return d;
}

async function states(b: PlatformBroker, deviceId: string): Promise<string[]> {
  await b.commands.idle();
  return (await b.commands.list(deviceId)).map((c) => `${c.name}:${c.state}`);
}

describe('issue 5 commands: order and window', () => {
  it('window 1: one at a time, in order, the next only after the previous is acknowledged (MQTT 5)', async () => {
    const b = await platformBroker({ commands: { window: 1 } });
    await addDevice(b.platform, 'w1');
    const d = await device(b, 'w1');
    const sent: CommandRecord[] = [];
    for (let i = 1; i <= 3; i++) sent.push(await b.commands.send('w1', { name: `c${i}`, payload: { n: i } }));
    expect(sent.map((c) => c.seq)).toEqual([1, 2, 3]);

    for (let i = 1; i <= 3; i++) {
      const got = await d.waitFor('commands', i);
      // Nothing beyond the window was published: the rest is still queued.
      expect(await states(b, 'w1')).toEqual(['c1', 'c2', 'c3'].map((n, j) => `${n}:${j < i - 1 ? 'acked' : j === i - 1 ? 'sent' : 'queued'}`));
      expect(d.commands()).toHaveLength(i);
      const p = got[i - 1];
      expect(d.commandName(p)).toBe(`c${i}`);
      expect(d.commandId(p)).toBe(sent[i - 1].id);
      expect(d.json(p)).toEqual({ n: i });
      await d.respond(p, { ok: true, result: { done: i } });
    }
    const final = await b.commands.wait(sent[2].id, 5000);
    expect(final.state).toBe('acked');
    expect(final.result).toEqual({ done: 3 });
    expect(await states(b, 'w1')).toEqual(['c1:acked', 'c2:acked', 'c3:acked']);
    expect(d.commands()).toHaveLength(3);
  });

  it('window 3: three in flight, a freed slot takes the next one in seq order', async () => {
    const b = await platformBroker({ commands: { window: 3 } });
    await addDevice(b.platform, 'w3');
    const d = await device(b, 'w3');
    for (let i = 1; i <= 5; i++) await b.commands.send('w3', { name: `c${i}` });
    await d.waitFor('commands', 3);
    expect(await states(b, 'w3')).toEqual(['c1:sent', 'c2:sent', 'c3:sent', 'c4:queued', 'c5:queued']);
    expect(d.commands()).toHaveLength(3);

    await d.respond(d.commands()[1], { ok: true }); // c2 first: out-of-order acknowledgements are fine
    await d.waitFor('commands', 4);
    expect(await states(b, 'w3')).toEqual(['c1:sent', 'c2:acked', 'c3:sent', 'c4:sent', 'c5:queued']);
    await d.respond(d.commands()[0], { ok: true });
    await d.waitFor('commands', 5);
    expect(d.commands().map((p) => d.commandName(p))).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
  });
});

describe('issue 5 commands: MQTT 5 and 3.1.1 forms, ack and failure', () => {
  it('MQTT 5: QoS 1 with Response Topic, Correlation Data = command id, User Property command', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'v5');
    const d = await device(b, 'v5');
    const c = await b.commands.send('v5', { name: 'reboot', payload: { delayS: 5 } });
    const [p] = await d.waitFor('commands');
    expect(p.qos).toBe(1);
    expect(p.properties?.responseTopic).toBe('$holdfast/devices/v5/commands/response');
    expect(Buffer.from(p.properties!.correlationData!).toString('utf8')).toBe(c.id);
    expect(p.properties?.userProperties).toEqual({ command: 'reboot' });
    expect(d.json(p)).toEqual({ delayS: 5 });
  });

  it('a device failure (ok: false) makes the command failed with the error', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'f1');
    const d = await device(b, 'f1');
    const c = await b.commands.send('f1', { name: 'flash' });
    const waiting = b.commands.wait(c.id, 5000);
    const [p] = await d.waitFor('commands');
    await d.respond(p, { ok: false, error: 'disk full' });
    const r = await waiting;
    expect(r.state).toBe('failed');
    expect(r.error).toBe('disk full');
    expect(r.attempts).toBe(1);
  });

  it('3.1.1: the JSON envelope { id, name, payload }, answered with { id, ok, result }', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'v4');
    const d = await device(b, 'v4', { version: 4 });
    const c1 = await b.commands.send('v4', { name: 'setInterval', payload: { s: 30 } });
    const c2 = await b.commands.send('v4', { name: 'ping' });
    const [p] = await d.waitFor('commands');
    expect(p.properties).toBeUndefined();
    expect(d.json(p)).toEqual({ id: c1.id, name: 'setInterval', payload: { s: 30 } });
    await d.respond(p, { ok: true, result: 'ok' });
    const all = await d.waitFor('commands', 2);
    expect(d.json(all[1])).toEqual({ id: c2.id, name: 'ping', payload: null });
    await d.respond(all[1], { ok: false, error: 'busy' });
    expect(await b.commands.wait(c1.id, 5000)).toMatchObject({ state: 'acked', result: 'ok' });
    expect(await b.commands.wait(c2.id, 5000)).toMatchObject({ state: 'failed', error: 'busy' });
  });

  it("responses from another client, for another device's command, or duplicated, change nothing", async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'a');
    await addDevice(b.platform, 'b');
    const da = await device(b, 'a');
    const db = await device(b, 'b');
    const ca = await b.commands.send('a', { name: 'x' });
    const cb = await b.commands.send('b', { name: 'y' });
    await da.waitFor('commands');
    const [pb] = await db.waitFor('commands');
    // b answers a's command on its own topic, then on a's topic.
    await db.publishJson('commands/response', { ok: true }, { properties: { correlationData: Buffer.from(ca.id) } });
    await db.client.publishAsync(da.topic('commands/response'), JSON.stringify({ ok: true }), {
      qos: 1,
      properties: { correlationData: Buffer.from(ca.id) },
    });
    await db.respond(pb, { ok: true, result: 1 });
    await db.respond(pb, { ok: false, error: 'late duplicate' });
    await b.commands.idle();
    expect((await b.commands.get(ca.id)).state).toBe('sent');
    expect(await b.commands.get(cb.id)).toMatchObject({ state: 'acked', result: 1 });
  });
});

describe('issue 5 commands: offline devices, wait(), limits', () => {
  it('a device offline gets its queued commands, in order, when it connects and subscribes', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'off-1');
    for (let i = 1; i <= 3; i++) await b.commands.send('off-1', { name: `c${i}` });
    expect(await states(b, 'off-1')).toEqual(['c1:queued', 'c2:queued', 'c3:queued']);
    // A clean session: it subscribes after CONNACK, so the first try at connect reaches
    // nobody and delivery is tried again after retryBackoffMs.
    const d = await device(b, 'off-1');
    for (let i = 1; i <= 3; i++) {
      const got = await d.waitFor('commands', i);
      await d.respond(got[i - 1], { ok: true });
    }
    expect(d.commands().map((p) => d.commandName(p))).toEqual(['c1', 'c2', 'c3']);
    expect((await b.commands.list('off-1')).every((c) => c.attempts === 1)).toBe(true);
  });

  it('wait() long-polls: resolves at the final state, or after waitMs with the current record; abortable', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'lp');
    const c = await b.commands.send('lp', { name: 'x' });
    const t0 = Date.now();
    const timedOut = await b.commands.wait(c.id, 100);
    expect(timedOut.state).toBe('queued');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);

    const ac = new AbortController();
    const aborted = b.commands.wait(c.id, 60_000, ac.signal);
    ac.abort(new Error('client went away'));
    await expect(aborted).rejects.toThrow('client went away');

    const waiting = b.commands.wait(c.id, 60_000);
    const d = await device(b, 'lp');
    const [p] = await d.waitFor('commands');
    await d.respond(p, { ok: true, result: [1, 2] });
    expect(await waiting).toMatchObject({ state: 'acked', result: [1, 2] });
    expect(isPlatformError(await b.commands.wait('nope', 10).catch((e: unknown) => e), 'COMMAND_NOT_FOUND')).toBe(true);
  });

  it('COMMAND_QUEUE_FULL beyond maxQueuedPerDevice; DEVICE_NOT_FOUND; INVALID_INPUT', async () => {
    const b = await platformBroker({ commands: { maxQueuedPerDevice: 2 } });
    await addDevice(b.platform, 'full');
    await b.commands.send('full', { name: 'a' });
    await b.commands.send('full', { name: 'b' });
    const err = await b.commands.send('full', { name: 'c' }).catch((e: unknown) => e);
    expect(isPlatformError(err, 'COMMAND_QUEUE_FULL')).toBe(true);
    expect(isPlatformError(await b.commands.send('ghost', { name: 'a' }).catch((e: unknown) => e), 'DEVICE_NOT_FOUND')).toBe(true);
    expect(isPlatformError(await b.commands.send('full', { name: '' }).catch((e: unknown) => e), 'INVALID_INPUT')).toBe(true);
    expect(isPlatformError(await b.commands.send('full', { name: 'a', timeoutMs: 0 }).catch((e: unknown) => e), 'INVALID_INPUT')).toBe(true);
    expect((await b.commands.list('full')).map((c) => c.name)).toEqual(['a', 'b']);
  });
});

describe('issue 5 commands: the in-memory queue follows the store', () => {
  it('a device deleted with queued commands and created again gets only its new ones (forgetDevice)', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'del1');
    await b.commands.send('del1', { name: 'old1' });
    await b.commands.send('del1', { name: 'old2' });
    expect(await b.platform.deleteDevice('del1')).toBe(true);
    await b.commands.forgetDevice('del1');
    await addDevice(b.platform, 'del1');
    const fresh = await b.commands.send('del1', { name: 'new' });
    expect(fresh.seq).toBe(1);
    const d = await device(b, 'del1');
    const [p] = await d.waitFor('commands', 1);
    expect(d.commandName(p)).toBe('new');
    await d.respond(p, { ok: true });
    expect((await b.commands.wait(fresh.id, 5000)).state).toBe('acked');
    expect(await states(b, 'del1')).toEqual(['new:acked']);
    expect(d.commands()).toHaveLength(1);
  });

  it('a failed write drops the queue kept in memory: the next command continues from what the store has', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'wf1');
    const first = await b.commands.send('wf1', { name: 'a' });
    const put = b.platform.putCommand.bind(b.platform);
    b.platform.putCommand = () => Promise.reject(new Error('disk full'));
    await expect(b.commands.send('wf1', { name: 'b' })).rejects.toThrow('disk full');
    b.platform.putCommand = put;
    const next = await b.commands.send('wf1', { name: 'c' });
    expect(next.seq).toBe(first.seq + 1);
    const d = await device(b, 'wf1');
    const got = await d.waitFor('commands', 1);
    expect(d.commandName(got[0])).toBe('a');
    await d.respond(got[0], { ok: true });
    const more = await d.waitFor('commands', 2);
    expect(d.commandName(more[1])).toBe('c');
  });
});
