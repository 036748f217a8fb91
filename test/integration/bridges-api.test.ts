/**
 * Issue 9 through `holdfast start` (startHoldfast, in this process): the bridges composed
 * by the app, with the device platform off, and operated through the admin API and the
 * CLI. A webhook answering 400 sends the message to the dead letters after the configured
 * attempts (maxPermanentAttempts 2); GET /api/bridges and `holdfast bridges status` show
 * it; `holdfast bridges dead-letters list` lists it; after the receiver is fixed, a replay
 * through the API (`holdfast bridges dead-letters replay --id`) delivers it under the same
 * idempotency key. Also: /api/openapi.json, tokens, /metrics and /healthz.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgesStatusSchema, DeadLetterPageSchema, ReplayResultSchema } from '../../src/app/api/bridges-schemas.js';
import { main, type CliIO } from '../../src/app/cli.js';
import { StoreClient } from '../helpers/store-clients.js';
import { ADMIN_TOKEN, documented, READ_TOKEN, startApiApp, type ApiApp } from './api-harness.js';
import { waitFor, WebhookServer } from './bridges-helpers.js';

function cliIO(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env: {},
    signals: new EventEmitter(),
    cwd: process.cwd(),
  };
  return { io, out: () => out, err: () => err };
}

const hook = new WebhookServer();
let api: ApiApp;
let client: StoreClient | undefined;
let broken = true;

beforeAll(async () => {
  await hook.listen(0);
  hook.respond = (r) => (broken && r.body.toString() === 'poison' ? 400 : 200);
  api = await startApiApp({
    platform: { enabled: false },
    store: { kind: 'sqlite', durability: 'commit' },
    bridges: {
      instanceId: 'apitest',
      sinks: [
        { name: 'hook', kind: 'http', http: { url: hook.url, mode: 'single' }, maxPermanentAttempts: 2, retryBaseMs: 5, retryCapMs: 20, batchLingerMs: 0 },
      ],
      routes: [{ filter: 'dev/+/data', sink: 'hook' }],
    },
  });
}, 30_000);
afterAll(async () => {
  client?.destroy();
  await api?.stop();
  await hook.close();
});

describe('bridges through holdfast start: /api/bridges, dead letters, replay, CLI', () => {
  it('a 400 dead-letters the message after 2 attempts; status, list and replay through the API and the CLI deliver it after the fix', async () => {
    expect(api.app.bridges).toBeDefined();
    expect(api.app.platform).toBeUndefined();
    const c = await StoreClient.connect(api.mqttPort, 5, { clientId: 'd1' });
    client = c.client;
    let pid = 0;
    for (const body of ['first', 'poison', 'after']) {
      const ack = await client.publishAcked({ topic: 'dev/d1/data', payload: Buffer.from(body), qos: 1, retain: false, packetId: ++pid });
      expect(ack.reasonCode ?? 0).toBe(0);
    }
    await waitFor(() => hook.requests.some((r) => r.body.toString() === 'after'), '"after" delivered');
    // Deleted from the outbox once the webhook's answer is in (the request arrives before that).
    await waitFor(() => api.app.bridges!.status().sinks[0]!.outbox.messages === 0, 'outbox empty');

    const st = await api.call('GET', '/api/bridges', { token: READ_TOKEN });
    expect(st.status).toBe(200);
    const status = documented(BridgesStatusSchema, st.body);
    expect(status).toMatchObject({ instanceId: 'apitest', routes: 1, ingress: [] });
    expect(status.sinks[0]).toMatchObject({ name: 'hook', kind: 'http', breaker: 'closed', deadLetters: 1, totals: { deadLettered: 1 } });
    expect(hook.requests.filter((r) => r.body.toString() === 'poison')).toHaveLength(2);

    const listed = await api.call('GET', '/api/bridges/dead-letters?sink=hook', { token: READ_TOKEN });
    expect(listed.status).toBe(200);
    const page = documented(DeadLetterPageSchema, listed.body);
    expect(page.items).toHaveLength(1);
    const letter = page.items[0]!;
    expect(letter).toMatchObject({ sink: 'hook', topic: 'dev/d1/data', publisherId: 'd1', attempts: 2, idempotencyKey: `apitest-${letter.messageId}` });
    expect(letter.error).toMatch(/HTTP 400/);
    expect(Buffer.from(letter.payloadBase64, 'base64').toString()).toBe('poison');

    // Refusals: unknown sink, nothing to replay, read token.
    expect((await api.call('GET', '/api/bridges/dead-letters?sink=nope')).body.error).toBe('SINK_NOT_FOUND');
    expect((await api.call('POST', '/api/bridges/dead-letters/replay', { body: {} })).body.error).toBe('INVALID_INPUT');
    expect((await api.call('POST', '/api/bridges/dead-letters/replay', { body: { sink: 'hook' }, token: READ_TOKEN })).status).toBe(403);
    expect((await api.call('GET', '/api/bridges', { token: null })).status).toBe(401);

    // The CLI on the same API.
    const s = cliIO();
    expect(await main(['bridges', 'status', '--url', api.base, '--token', READ_TOKEN], s.io)).toBe(0);
    expect(s.out()).toMatch(/instance apitest, 1 route/);
    expect(s.out()).toMatch(/^hook\s+http\s+\w+\s+closed\s+0\s/m);
    const l = cliIO();
    expect(await main(['bridges', 'dead-letters', 'list', '--sink', 'hook', '--url', api.base, '--token', READ_TOKEN], l.io)).toBe(0);
    expect(l.out()).toContain(`${letter.messageId}`);
    expect(l.out()).toMatch(/HTTP 400/);
    const bad = cliIO();
    expect(await main(['bridges', 'dead-letters', 'replay', '--url', api.base, '--token', ADMIN_TOKEN], bad.io)).toBe(1);

    broken = false;
    const before = hook.requests.length;
    const r = cliIO();
    expect(await main(['bridges', 'dead-letters', 'replay', '--id', String(letter.messageId), '--url', api.base, '--token', ADMIN_TOKEN], r.io)).toBe(0);
    expect(r.out()).toBe('replayed 1 dead letter(s) (hook: 1)\n');
    await waitFor(() => hook.requests.length > before, 'the replayed message');
    const replayed = hook.requests[before]!;
    expect(replayed.body.toString()).toBe('poison');
    expect(replayed.headers['idempotency-key']).toBe(letter.idempotencyKey);
    await waitFor(() => api.app.bridges!.status().sinks[0]!.outbox.messages === 0, 'outbox empty');
    const after = documented(BridgesStatusSchema, (await api.call('GET', '/api/bridges')).body);
    expect(after.sinks[0]).toMatchObject({ deadLetters: 0, totals: { deadLettered: 1, replayed: 1 } });
    expect((await api.call('GET', '/api/bridges/dead-letters')).body).toEqual({ items: [] });
    // Nothing left: a replay by sink replays nothing.
    const again = await api.call('POST', '/api/bridges/dead-letters/replay', { body: { sink: 'hook' } });
    expect(documented(ReplayResultSchema, again.body)).toEqual({ replayed: 0, bySink: {} });
  });

  it('documents /api/bridges in /api/openapi.json; exports the bridge metrics and the health check', async () => {
    const doc = (await api.call('GET', '/api/openapi.json', { token: null })).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/bridges', '/api/bridges/dead-letters', '/api/bridges/dead-letters/replay']));
    expect(doc.paths['/api/devices']).toBeUndefined(); // the platform is off
    const metrics = await (await fetch(`${api.base}/metrics`)).text();
    expect(metrics).toMatch(/holdfast_bridge_outbox_messages\{sink="hook"\} 0/);
    expect(metrics).toMatch(/holdfast_breakers_open\{group="bridge-sinks"\} 0/);
    const health = (await api.call('GET', '/healthz', { token: null })).body;
    expect(health.checks['bridges:sinks']).toBeDefined();
  });
});
