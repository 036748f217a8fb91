/**
 * Issue 5, admin API over real HTTP against a real holdfast: shadows (desired through the
 * API -> delta to the device -> reported by the device -> visible in the API) and commands
 * (enqueued through the API, long-polled with waitMs, answered by the device over MQTT;
 * expiry reported as expired).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command, IssuedSecret, Shadow, ShadowChange } from '../../src/app/api/schemas.js';
import { answer, commandOf, deviceOnline, documented, eventually, startApiApp, type ApiApp } from './api-harness.js';

let api: ApiApp;

beforeAll(async () => {
  api = await startApiApp({ platform: { presence: { graceMs: 0 } } });
}, 30_000);

afterAll(async () => {
  await api?.stop();
});

async function provisioned(id: string): Promise<string> {
  expect((await api.call('POST', '/api/devices', { body: { id, type: 'meter' } })).status).toBe(201);
  return documented(IssuedSecret, (await api.call('POST', `/api/devices/${id}/secrets`, { body: {} })).body).secret;
}

describe('issue 5 admin API: shadows over real HTTP and MQTT', () => {
  it('issue 5 shadow delta round trip: desired set through the API -> delta on $holdfast/devices/{id}/shadow/delta -> device reports -> API shows it', async () => {
    const dev = await deviceOnline(api.mqttUrl, 'sh-1', await provisioned('sh-1'));
    const set = await api.call('PATCH', '/api/devices/sh-1/shadow/desired', { body: { desired: { interval: 30, relay: 'off' } } });
    expect(set.status).toBe(200);
    const afterSet = documented(Shadow, set.body);
    expect(afterSet.delta).toEqual({ interval: 30, relay: 'off' });

    const [delta] = await dev.waitFor('shadow/delta');
    const pushed = JSON.parse(delta!.payload.toString('utf8'));
    expect(pushed.delta).toEqual({ interval: 30, relay: 'off' });
    expect(pushed.version).toBe(afterSet.version);

    await dev.publishJson('shadow/update', { reported: pushed.delta });
    await dev.waitFor('shadow/update/accepted');
    const shown = await eventually(
      async () => documented(Shadow, (await api.call('GET', '/api/devices/sh-1/shadow')).body),
      (s) => Object.keys(s.delta).length === 0,
      10_000,
      'the reported state to catch up',
    );
    expect(shown.reported).toEqual({ interval: 30, relay: 'off' });
    expect(shown.metadata.reported.interval).toBeGreaterThan(0);

    const history = await api.call('GET', '/api/devices/sh-1/shadow/history?limit=10');
    const sides = history.body.items.map((c: unknown) => documented(ShadowChange, c)).map((c: { side: string; by: string }) => `${c.side}:${c.by}`);
    expect(sides).toEqual(['reported:device', 'desired:api']);
    await dev.end();
  });

  it('issue 5 shadow optimistic concurrency: a stale version is 409 SHADOW_VERSION_MISMATCH; the current one applies', async () => {
    await provisioned('sh-2');
    const v1 = documented(Shadow, (await api.call('PATCH', '/api/devices/sh-2/shadow/desired', { body: { desired: { a: 1 } } })).body).version;
    const stale = await api.call('PATCH', '/api/devices/sh-2/shadow/desired', { body: { desired: { a: 2 }, version: v1 - 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toBe('SHADOW_VERSION_MISMATCH');
    const ok = await api.call('PATCH', '/api/devices/sh-2/shadow/desired', { body: { desired: { a: 3 }, version: v1 } });
    expect(ok.status).toBe(200);
    expect(ok.body.desired).toEqual({ a: 3 });
  });

  it('issue 5 shadow size cap: a desired document over platform.shadows.maxBytes is 413 SHADOW_TOO_LARGE', async () => {
    await provisioned('sh-3');
    const big = await api.call('PATCH', '/api/devices/sh-3/shadow/desired', { body: { desired: { blob: 'x'.repeat(10_000) } } });
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('SHADOW_TOO_LARGE');
  });
});

describe('issue 5 admin API: commands over real HTTP and MQTT', () => {
  it('issue 5 command with wait: POST ...?waitMs long-polls until the device answers; the result is readable afterwards', async () => {
    const dev = await deviceOnline(api.mqttUrl, 'cmd-1', await provisioned('cmd-1'));
    // The device answers each command it gets, echoing the payload.
    dev.client.on('message', (topic, _payload, packet) => {
      if (topic !== '$holdfast/devices/cmd-1/commands') return;
      const c = commandOf(packet);
      void answer(dev, packet, { ok: true, result: { did: c.name, echo: c.payload } });
    });
    const sent = await api.call('POST', '/api/devices/cmd-1/commands?waitMs=10000', { body: { name: 'setInterval', payload: { s: 15 } } });
    expect(sent.status).toBe(201);
    const c = documented(Command, sent.body);
    expect(c.state).toBe('acked');
    expect(c.result).toEqual({ did: 'setInterval', echo: { s: 15 } });
    expect(sent.headers.get('location')).toBe(`/api/commands/${c.id}`);

    const read = documented(Command, (await api.call('GET', `/api/commands/${c.id}`)).body);
    expect(read).toMatchObject({ id: c.id, state: 'acked', attempts: 1, result: { did: 'setInterval', echo: { s: 15 } } });
    const listed = await api.call('GET', '/api/devices/cmd-1/commands?state=acked');
    expect(listed.body.items.map((x: { id: string }) => x.id)).toEqual([c.id]);
    await dev.end();
  });

  it('issue 5 commands in order, answered by a 3.1.1 device (JSON envelope); a failure answer is reported as failed', async () => {
    const dev = await deviceOnline(api.mqttUrl, 'cmd-2', await provisioned('cmd-2'), { version: 4 });
    const queued = [];
    for (const name of ['first', 'second', 'boom']) {
      const r = await api.call('POST', '/api/devices/cmd-2/commands', { body: { name } });
      expect(r.status).toBe(201);
      queued.push(documented(Command, r.body));
    }
    expect(queued.map((c) => c.seq)).toEqual([...queued.map((c) => c.seq)].sort((a, b) => a - b));
    // Window 1: each arrives only after the previous one was answered.
    for (let i = 0; i < 3; i++) {
      const got = await dev.waitFor('commands', i + 1);
      const p = got[i]!;
      const c = commandOf(p);
      expect(c.id).toBe(queued[i]!.id);
      await answer(dev, p, c.name === 'boom' ? { ok: false, error: 'no such thing' } : { ok: true, result: i });
    }
    const last = documented(Command, (await api.call('GET', `/api/commands/${queued[2]!.id}?waitMs=10000`)).body);
    expect(last).toMatchObject({ state: 'failed', error: 'no such thing' });
    const first = documented(Command, (await api.call('GET', `/api/commands/${queued[0]!.id}?waitMs=10000`)).body);
    expect(first).toMatchObject({ state: 'acked', result: 0 });
    await dev.end();
  });

  it('issue 5 expired command: an offline device misses its deadline -> the API reports expired (long-poll ends with it)', async () => {
    await provisioned('cmd-3');
    const sent = await api.call('POST', '/api/devices/cmd-3/commands', { body: { name: 'late', timeoutMs: 200 } });
    expect(sent.status).toBe(201);
    expect(sent.body.state).toBe('queued');
    const waited = await api.call('GET', `/api/commands/${sent.body.id}?waitMs=15000`);
    expect(waited.status).toBe(200);
    expect(documented(Command, waited.body)).toMatchObject({ state: 'expired', attempts: 0 });
    const expiredList = await api.call('GET', '/api/devices/cmd-3/commands?state=expired');
    expect(expiredList.body.items).toHaveLength(1);
  });

  it('issue 5 command long-poll that times out answers with the record as it is (not final), 201', async () => {
    await provisioned('cmd-4');
    const t0 = Date.now();
    const sent = await api.call('POST', '/api/devices/cmd-4/commands?waitMs=300', { body: { name: 'nobody-home' } });
    expect(sent.status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(sent.body.state).toBe('queued');
    const missing = await api.call('GET', '/api/commands/no-such-command');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('COMMAND_NOT_FOUND');
    expect((await api.call('POST', '/api/devices/nobody/commands', { body: { name: 'x' } })).body.error).toBe('DEVICE_NOT_FOUND');
  });
});
