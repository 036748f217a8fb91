/**
 * Issue 5, admin API over real HTTP against a real holdfast: what the broker itself holds —
 * connected clients (list, kick), sessions, retained messages — checked against MQTT.js clients.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectedClient, RetainedMessage, SessionView } from '../../src/app/api/schemas.js';
import { waitUntil } from '../helpers/transport-wait.js';
import { documented, eventually, READ_TOKEN, startApiApp, type ApiApp } from './api-harness.js';

let api: ApiApp;
const clients: MqttClient[] = [];

beforeAll(async () => {
  api = await startApiApp();
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await api?.stop();
});

async function plainClient(clientId: string, o: { clean?: boolean; version?: 4 | 5 } = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(api.mqttUrl, {
    clientId,
    protocolVersion: o.version ?? 5,
    clean: o.clean ?? true,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...(o.clean === false ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  clients.push(c);
  return c;
}

describe('issue 5 admin API: connected clients, sessions, retained messages', () => {
  it('issue 5 connected clients: listed with protocol and address, paged by client id; kick disconnects (v5 0x98), then 404 CLIENT_NOT_CONNECTED', async () => {
    const a = await plainClient('cl-a');
    await plainClient('cl-b', { version: 4 });
    await plainClient('cl-c');
    let disconnectReason: number | undefined;
    a.on('disconnect', (p) => (disconnectReason = p.reasonCode));

    const page1 = await api.call('GET', '/api/clients?limit=2');
    expect(page1.status).toBe(200);
    const items = page1.body.items.map((c: unknown) => documented(ConnectedClient, c));
    expect(items.map((c: { clientId: string }) => c.clientId)).toEqual(['cl-a', 'cl-b']);
    expect(items[1]).toMatchObject({ protocolVersion: 4, remoteAddress: expect.stringContaining('127.0.0.1') });
    expect(page1.body.nextCursor).toBe('cl-b');
    const page2 = await api.call('GET', `/api/clients?limit=2&after=${page1.body.nextCursor}`);
    expect(page2.body.items.map((c: { clientId: string }) => c.clientId)).toEqual(['cl-c']);

    expect((await api.call('DELETE', '/api/clients/cl-a', { token: READ_TOKEN })).status).toBe(403);
    expect((await api.call('DELETE', '/api/clients/cl-a')).status).toBe(204);
    await waitUntil(() => a.disconnected || !a.connected, 10_000, 'cl-a to be disconnected');
    await waitUntil(() => disconnectReason !== undefined, 10_000, 'the DISCONNECT of cl-a');
    expect(disconnectReason).toBe(0x98);
    const again = await api.call('DELETE', '/api/clients/cl-a');
    expect(again.status).toBe(404);
    expect(again.body.error).toBe('CLIENT_NOT_CONNECTED');
    const left = await eventually(async () => (await api.call('GET', '/api/clients')).body.items.map((c: { clientId: string }) => c.clientId), (ids: string[]) => !ids.includes('cl-a'), 5_000, 'cl-a gone from the list');
    expect(left).toEqual(expect.arrayContaining(['cl-b', 'cl-c']));
  });

  it('issue 5 sessions: a persistent session stays listed offline with its queued messages and subscriptions', async () => {
    const sub = await plainClient('sess-keep', { clean: false });
    await sub.subscribeAsync('sess/t', { qos: 1 });
    await sub.endAsync();
    const pub = await plainClient('sess-pub');
    await pub.publishAsync('sess/t', 'queued for later', { qos: 1 });
    const s = await eventually(
      async () => (await api.call('GET', '/api/sessions?limit=1000')).body.items.find((x: { clientId: string }) => x.clientId === 'sess-keep'),
      (x: { online: boolean; queued: number } | undefined) => x !== undefined && !x.online && x.queued >= 1,
      5_000,
      'the offline session with one queued message',
    );
    expect(documented(SessionView, s)).toMatchObject({ online: false, subscriptions: 1, expiryIntervalS: 3600 });
    const online = (await api.call('GET', '/api/sessions?limit=1000')).body.items.find((x: { clientId: string }) => x.clientId === 'sess-pub');
    expect(online).toMatchObject({ online: true });
  });

  it('issue 5 retained messages: listed by filter (base64 payload), deleted by topic with slashes; 404 RETAINED_NOT_FOUND after', async () => {
    const pub = await plainClient('ret-pub');
    await pub.publishAsync('ret/a/1', 'one', { qos: 1, retain: true });
    await pub.publishAsync('ret/a/2', 'two', { qos: 1, retain: true });
    await pub.publishAsync('ret/b/1', 'other', { qos: 0, retain: true });
    const listed = await eventually(async () => (await api.call('GET', '/api/retained?filter=ret/a/%2B')).body, (b) => b.items.length === 2, 5_000, 'two retained');
    const items = listed.items.map((m: unknown) => documented(RetainedMessage, m)).sort((x: { topic: string }, y: { topic: string }) => x.topic.localeCompare(y.topic));
    expect(items.map((m: { topic: string; payloadBase64: string }) => [m.topic, Buffer.from(m.payloadBase64, 'base64').toString()])).toEqual([
      ['ret/a/1', 'one'],
      ['ret/a/2', 'two'],
    ]);
    expect((await api.call('GET', '/api/retained?filter=ret/%23&limit=1')).body.items).toHaveLength(1);

    expect((await api.call('DELETE', '/api/retained/ret/a/1')).status).toBe(204);
    expect((await api.call('DELETE', `/api/retained/${encodeURIComponent('ret/a/2')}`)).status).toBe(204);
    const after = await api.call('GET', '/api/retained?filter=ret/%23');
    expect(after.body.items.map((m: { topic: string }) => m.topic)).toEqual(['ret/b/1']);
    const gone = await api.call('DELETE', '/api/retained/ret/a/1');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe('RETAINED_NOT_FOUND');

    // A new subscriber no longer gets the deleted one.
    const late = await plainClient('ret-late');
    const got: string[] = [];
    late.on('message', (t) => got.push(t));
    await late.subscribeAsync('ret/#', { qos: 1 });
    // A marker published after the SUBSCRIBE arrives after every retained message of it.
    await pub.publishAsync('ret/marker', 'm', { qos: 1 });
    await waitUntil(() => got.includes('ret/marker'), 5_000, 'the marker');
    expect(got).toEqual(['ret/b/1', 'ret/marker']);
  });
});
