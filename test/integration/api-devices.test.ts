/**
 * Issue 5, admin API over real HTTP against a real holdfast (startHoldfast -> startFromConfig):
 * the registry and credentials as an operator uses them, checked against what devices see
 * over MQTT (MQTT.js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Credential, Device, DevicePage, DeviceView, IssuedSecret } from '../../src/app/api/schemas.js';
import { waitUntil } from '../helpers/transport-wait.js';
import { connectDevice, deviceOnline, documented, eventually, READ_TOKEN, startApiApp, type ApiApp } from './api-harness.js';

let api: ApiApp;

beforeAll(async () => {
  api = await startApiApp({ platform: { presence: { graceMs: 0 } } });
}, 30_000);

afterAll(async () => {
  await api?.stop();
});

async function createWithSecret(id: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await api.call('POST', '/api/devices', { body: { id, type: 'meter', ...extra } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const issued = await api.call('POST', `/api/devices/${id}/secrets`, { body: {} });
  expect(issued.status).toBe(201);
  return documented(IssuedSecret, issued.body).secret;
}

describe('issue 5 admin API: registry and credentials over real HTTP', () => {
  it('issue 5 create device: 201 with Location; the secret is shown once and never again; the device connects with it', async () => {
    const created = await api.call('POST', '/api/devices', { body: { id: 'api-dev-1', type: 'meter', labels: { site: 'north' }, metadata: { fw: '1.0' } } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/devices/api-dev-1');
    const d = documented(Device, created.body);
    expect(d).toMatchObject({ id: 'api-dev-1', type: 'meter', labels: { site: 'north' }, metadata: { fw: '1.0' }, enabled: true });

    const issued = await api.call('POST', '/api/devices/api-dev-1/secrets', { body: {} });
    expect(issued.status).toBe(201);
    const { secret, credential } = documented(IssuedSecret, issued.body);
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(credential)).not.toContain(secret);

    // Shown once: no later read returns the secret or its hash.
    for (const path of ['/api/devices/api-dev-1', '/api/devices/api-dev-1/credentials', '/api/devices?limit=1000']) {
      const r = await api.call('GET', path);
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toContain(secret);
      expect(JSON.stringify(r.body)).not.toMatch(/scrypt|secretHash/);
    }
    const creds = await api.call('GET', '/api/devices/api-dev-1/credentials');
    expect(creds.body.items.map((c: unknown) => documented(Credential, c).kind)).toEqual(['secret']);

    const dev = await deviceOnline(api.mqttUrl, 'api-dev-1', secret);
    const wrong = await connectDevice(api.mqttUrl, 'api-dev-1', `${secret}x`);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.code).toBe(0x86);
    await dev.end();
  });

  it('issue 5 disable through the API: the connected device is kicked (0x98) and its reconnect refused (0x87); enable lets it back', async () => {
    const secret = await createWithSecret('api-dev-2');
    const dev = await deviceOnline(api.mqttUrl, 'api-dev-2', secret);
    const disabled = await api.call('POST', '/api/devices/api-dev-2/disable');
    expect(disabled.status).toBe(200);
    expect(disabled.body.enabled).toBe(false);
    await waitUntil(() => dev.closed, 10_000, 'the disabled device to be disconnected');
    expect(dev.disconnectReason).toBe(0x98);

    const again = await connectDevice(api.mqttUrl, 'api-dev-2', secret);
    expect(again.ok).toBe(false);
    if (!again.ok) expect([0x86, 0x87]).toContain(again.code);

    expect((await api.call('POST', '/api/devices/api-dev-2/enable')).body.enabled).toBe(true);
    const back = await deviceOnline(api.mqttUrl, 'api-dev-2', secret);
    await back.end();
  });

  it('issue 5 rotate secret with overlap: old and new both work during the overlap; without overlap the old one stops', async () => {
    const first = await createWithSecret('api-dev-3');
    const rotated = await api.call('POST', '/api/devices/api-dev-3/secrets', { body: { overlapS: 600 } });
    const second = documented(IssuedSecret, rotated.body).secret;
    for (const s of [first, second]) await (await deviceOnline(api.mqttUrl, 'api-dev-3', s)).end();
    const third = documented(IssuedSecret, (await api.call('POST', '/api/devices/api-dev-3/secrets', { body: {} })).body).secret;
    const old = await connectDevice(api.mqttUrl, 'api-dev-3', second);
    expect(old.ok).toBe(false);
    await (await deviceOnline(api.mqttUrl, 'api-dev-3', third)).end();
  });

  it('issue 5 presence via the API: connected with address and protocol, then disconnected with the cause', async () => {
    const secret = await createWithSecret('api-dev-4');
    const never = documented(DeviceView, (await api.call('GET', '/api/devices/api-dev-4')).body);
    expect(never.presence === undefined || never.presence.state === 'never').toBe(true);

    const dev = await deviceOnline(api.mqttUrl, 'api-dev-4', secret, { version: 4 });
    const get = async () => documented(DeviceView, (await api.call('GET', '/api/devices/api-dev-4')).body);
    let view = await eventually(get, (v) => v.presence?.state === 'connected', 10_000, 'presence connected');
    expect(view.presence).toMatchObject({ state: 'connected', protocolVersion: 4, remoteAddress: expect.stringContaining('127.0.0.1') });
    expect(view.presence!.connectsLastMinute).toBeGreaterThanOrEqual(1);

    const online = await api.call('GET', '/api/devices?presence=connected&limit=1000');
    expect(online.body.items.map((d: { id: string }) => d.id)).toContain('api-dev-4');

    await dev.end();
    view = await eventually(get, (v) => v.presence?.state === 'disconnected', 10_000, 'presence disconnected');
    expect(view.presence?.state).toBe('disconnected');
    expect(view.presence?.lastDisconnectCause).toBeDefined();
  });

  it('issue 5 list with filters (type, label, enabled) and cursor pagination: every device once, in id order', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) {
      const r = await api.call('POST', '/api/devices', {
        body: { id, type: i % 2 === 0 ? 'gauge' : 'valve', labels: { batch: 'p', zone: i < 10 ? 'a' : 'b' }, ...(i % 5 === 0 ? { enabled: false } : {}) },
      });
      expect(r.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await api.call('GET', `/api/devices?label=batch:p&limit=7${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      expect(r.status).toBe(200);
      const p = documented(DevicePage, r.body);
      expect(p.items.length).toBeLessThanOrEqual(7);
      seen.push(...p.items.map((d) => d.id));
      cursor = p.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(ids);
    expect(pages).toBe(4);

    const ofType = (await api.call('GET', '/api/devices?type=gauge&label=batch:p&label=zone:a&limit=100')).body.items.map((d: { id: string }) => d.id);
    expect(ofType).toEqual(ids.filter((_, i) => i % 2 === 0 && i < 10));
    const off = (await api.call('GET', '/api/devices?label=batch:p&enabled=false')).body.items.map((d: { id: string }) => d.id);
    expect(off).toEqual(ids.filter((_, i) => i % 5 === 0));
  });

  it('issue 5 PATCH and DELETE: labels replaced, a deleted device is 404 DEVICE_NOT_FOUND with its credentials and shadow', async () => {
    const secret = await createWithSecret('api-dev-5', { labels: { a: '1' } });
    const patched = await api.call('PATCH', '/api/devices/api-dev-5', { body: { labels: { b: '2' }, type: 'valve' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ labels: { b: '2' }, type: 'valve' });
    expect((await api.call('DELETE', '/api/devices/api-dev-5')).status).toBe(204);
    const gone = await api.call('GET', '/api/devices/api-dev-5');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe('DEVICE_NOT_FOUND');
    expect((await api.call('POST', '/api/devices', { body: { id: 'api-dev-1', type: 'meter' } })).body.error).toBe('DEVICE_EXISTS');
    // Its credentials went with it (a non-device client id falls back to the static users, none here).
    expect((await api.call('GET', '/api/devices/api-dev-5/credentials')).body.error).toBe('DEVICE_NOT_FOUND');
    expect((await api.call('GET', '/api/devices/api-dev-5/shadow')).status).toBe(404);
    const asDevice = await connectDevice(api.mqttUrl, 'api-dev-5', secret);
    if (asDevice.ok) {
      const view = await api.call('GET', '/api/devices/api-dev-5');
      expect(view.status).toBe(404);
      await asDevice.device.end();
    }
  });

  it('issue 5 auth: no token 401 with WWW-Authenticate, a read token may read but gets 403 on writes (nothing changes)', async () => {
    const none = await api.call('GET', '/api/devices', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('UNAUTHORIZED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await api.call('GET', '/api/devices', { token: 'not-a-token-of-the-config' })).status).toBe(401);

    expect((await api.call('GET', '/api/devices', { token: READ_TOKEN })).status).toBe(200);
    const write = await api.call('POST', '/api/devices', { token: READ_TOKEN, body: { id: 'ro-made', type: 'meter' } });
    expect(write.status).toBe(403);
    expect(write.body.error).toBe('FORBIDDEN');
    expect((await api.call('DELETE', '/api/devices/api-dev-1', { token: READ_TOKEN })).status).toBe(403);
    expect((await api.call('GET', '/api/devices/ro-made')).status).toBe(404);
    expect((await api.call('GET', '/api/devices/api-dev-1')).status).toBe(200);
  });
});
