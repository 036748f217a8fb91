/**
 * The admin API's routing, validation, auth and error mapping over real HTTP (mounted in
 * the probe server as in production), against an in-memory FAKE platform
 * (fake-platform.ts). The same behaviours against the real services:
 * test/integration/api-*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminApi, type AdminApi } from '../../../../src/app/api/admin-api.js';
import { createHttpServer, type HttpServer } from '../../../../src/app/http-server.js';
import { HealthRegistry } from '../../../../src/observability/health.js';
import { silentLogger } from '../../../../src/observability/logger.js';
import { fakePlatform, type FakePlatform } from './fake-platform.js';

const ADMIN = 'admin-token-0123456789';
const READ = 'read-token-0123456789';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

// JSON bodies of many shapes, read field by field in the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

interface Env {
  base: string;
  platform: FakePlatform;
  api: AdminApi;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string; type?: string }): Promise<{ status: number; body: Body; headers: Headers }>;
}

async function start(opts: { bodyLimitBytes?: number; maxWaitMs?: number } = {}): Promise<Env> {
  const platform = fakePlatform();
  const api = createAdminApi({ platform, tokens: [{ token: ADMIN, role: 'admin' }, { token: READ, role: 'read' }], logger: silentLogger(), ...opts });
  server = createHttpServer({
    health: new HealthRegistry(),
    logger: silentLogger(),
    readiness: () => ({ ready: true }),
    slo: { status: () => [{ name: 'x' }] },
    bans: { list: () => [], lift: () => false },
    tokens: [{ token: ADMIN, role: 'admin' }],
    api,
  });
  const port = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    platform,
    api,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      const token = o.token === undefined ? ADMIN : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (o.raw !== undefined || o.body !== undefined) {
        body = o.raw ?? JSON.stringify(o.body);
        headers['content-type'] = o.type ?? 'application/json';
      }
      const res = await fetch(`${base}${path}`, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
    },
  };
}

/** One call per route of the table, with valid input. */
const EVERY_ROUTE: [string, string, unknown?][] = [
  ['POST', '/api/devices', { id: 'd1', type: 'meter' }],
  ['GET', '/api/devices'],
  ['GET', '/api/devices/d1'],
  ['PATCH', '/api/devices/d1', { labels: { a: 'b' } }],
  ['DELETE', '/api/devices/d1'],
  ['POST', '/api/devices/d1/disable'],
  ['POST', '/api/devices/d1/enable'],
  ['POST', '/api/devices/d1/secrets', {}],
  ['POST', '/api/devices/d1/certificates', { subjectCN: 'd1' }],
  ['GET', '/api/devices/d1/credentials'],
  ['DELETE', '/api/devices/d1/credentials/c1'],
  ['GET', '/api/devices/d1/shadow'],
  ['PATCH', '/api/devices/d1/shadow/desired', { desired: { a: 1 } }],
  ['GET', '/api/devices/d1/shadow/history'],
  ['POST', '/api/devices/d1/commands', { name: 'reboot' }],
  ['GET', '/api/devices/d1/commands'],
  ['GET', '/api/commands/x'],
  ['GET', '/api/clients'],
  ['DELETE', '/api/clients/c1'],
  ['GET', '/api/sessions'],
  ['GET', '/api/retained'],
  ['DELETE', '/api/retained/a/b'],
];

describe('admin API auth (issue 5: bearer tokens, read role)', () => {
  it('every route answers 401 UNAUTHORIZED without a token or with an unknown one, with WWW-Authenticate', async () => {
    const env = await start();
    for (const [method, path, body] of EVERY_ROUTE) {
      for (const token of [null, 'not-a-token-at-all-xx']) {
        const r = await env.call(method, path, { token, body });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body).toEqual({ error: 'UNAUTHORIZED', message: expect.any(String) });
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    // Unknown paths too: nothing is revealed without a token.
    expect((await env.call('GET', '/api/nope', { token: null })).status).toBe(401);
    expect(env.platform.calls).toEqual([]);
  });

  it('a read token may GET but every change is 403 FORBIDDEN, before anything is done', async () => {
    const env = await start();
    for (const [method, path, body] of EVERY_ROUTE) {
      const r = await env.call(method, path, { token: READ, body });
      if (method === 'GET') expect(r.status, `${method} ${path}`).not.toBe(403);
      else {
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body.error).toBe('FORBIDDEN');
      }
    }
    expect(env.platform.calls.filter((c) => !['devices.list', 'commands.list', 'shadows.history', 'broker.retained'].includes(c.method))).toEqual([]);
  });

  it('/api/openapi.json needs no token and documents every route', async () => {
    const env = await start();
    const r = await env.call('GET', '/api/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    for (const route of env.api.routes) {
      const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\/\*$/, '/{topic}');
      expect(r.body.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
    expect(r.body.paths['/api/devices'].post.requestBody.content['application/json'].schema.required).toEqual(['id', 'type']);
    expect(r.body.components.schemas.Error).toBeDefined();
    expect(r.body.components.schemas.Device).toBeDefined();
    expect(r.body.paths['/api/slo']).toBeDefined();
  });
});

describe('admin API input validation: 400 INVALID_INPUT with details (path + problem)', () => {
  const BAD: [string, string, unknown, string][] = [
    ['POST', '/api/devices', { type: 'meter' }, 'body.id'],
    ['POST', '/api/devices', { id: 'has space', type: 'meter' }, 'body.id'],
    ['POST', '/api/devices', { id: 'd', type: 'a/b' }, 'body.type'],
    ['POST', '/api/devices', { id: 'd', type: 't', labels: { k: 1 } }, 'body.labels.k'],
    ['POST', '/api/devices', { id: 'd', type: 't', extra: true }, 'body'],
    ['POST', '/api/devices', { id: 'd', type: 't', enabled: 'yes' }, 'body.enabled'],
    ['POST', '/api/devices', [1, 2], 'body'],
    ['GET', '/api/devices?limit=0', undefined, 'query.limit'],
    ['GET', '/api/devices?limit=abc', undefined, 'query.limit'],
    ['GET', '/api/devices?label=nocolon', undefined, 'query.label'],
    ['GET', '/api/devices?enabled=maybe', undefined, 'query.enabled'],
    ['GET', '/api/devices?presence=gone', undefined, 'query.presence'],
    ['GET', '/api/devices?bogus=1', undefined, 'query'],
    ['GET', `/api/devices/${'x'.repeat(129)}`, undefined, 'params.id'],
    ['PATCH', '/api/devices/d1', {}, 'body'],
    ['PATCH', '/api/devices/d1', { enabled: 1 }, 'body.enabled'],
    ['DELETE', '/api/devices/bad%20id', undefined, 'params.id'],
    ['POST', '/api/devices/d1/disable', { x: 1 }, 'body'],
    ['POST', '/api/devices/d1/secrets', { overlapS: -1 }, 'body.overlapS'],
    ['POST', '/api/devices/d1/certificates', {}, 'body'],
    ['POST', '/api/devices/d1/certificates', { fingerprint256: 'AB:CD' }, 'body.fingerprint256'],
    ['POST', '/api/devices/d1/certificates', { fingerprint256: 'ab'.repeat(32), subjectCN: 'x' }, 'body'],
    ['PATCH', '/api/devices/d1/shadow/desired', { desired: 5 }, 'body.desired'],
    ['PATCH', '/api/devices/d1/shadow/desired', { desired: {}, version: -1 }, 'body.version'],
    ['GET', '/api/devices/d1/shadow/history?limit=100000', undefined, 'query.limit'],
    ['POST', '/api/devices/d1/commands', { payload: 1 }, 'body.name'],
    ['POST', '/api/devices/d1/commands', { name: 'x', timeoutMs: 0 }, 'body.timeoutMs'],
    ['POST', '/api/devices/d1/commands?waitMs=999999', { name: 'x' }, 'query.waitMs'],
    ['GET', '/api/devices/d1/commands?state=done', undefined, 'query.state'],
    ['GET', '/api/commands/x?waitMs=-5', undefined, 'query.waitMs'],
    ['GET', '/api/clients?limit=5000', undefined, 'query.limit'],
    ['GET', '/api/sessions?after=', undefined, 'query.after'],
    ['GET', '/api/retained?filter=a/%23/b', undefined, 'query.filter'],
    ['DELETE', '/api/retained/a/%2B', undefined, 'params.*'],
  ];
  it.each(BAD)('%s %s -> 400 naming %s', async (method, path, body, where) => {
    const env = await start();
    await env.platform.devices.create({ id: 'd1', type: 'meter' });
    env.platform.calls.length = 0;
    const r = await env.call(method, path, { body });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('INVALID_INPUT');
    expect(r.body.details.length).toBeGreaterThan(0);
    expect(r.body.details.map((d: { path: string }) => d.path)).toContain(where);
    expect(typeof r.body.details[0].problem).toBe('string');
    expect(env.platform.calls).toEqual([]); // nothing reached the services
  });

  it('a body that is not JSON is 400; another content type is 415; too large is 413', async () => {
    const env = await start({ bodyLimitBytes: 1000 });
    const bad = await env.call('POST', '/api/devices', { raw: '{"id":' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining('not valid JSON') });
    const text = await env.call('POST', '/api/devices', { raw: 'id=x', type: 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await env.call('POST', '/api/devices', { body: { id: 'd', type: 't', metadata: { x: 'y'.repeat(2000) } } });
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('PAYLOAD_TOO_LARGE');
    const proto = await env.call('POST', '/api/devices', { raw: '{"id":"d","type":"t","__proto__":{"x":1}}' });
    expect(proto.status).toBe(400);
    expect(proto.body).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining('__proto__') });
  });

  it('an empty body with content-type JSON is no body (POST .../disable)', async () => {
    const env = await start();
    await env.platform.devices.create({ id: 'd1', type: 'meter' });
    const r = await env.call('POST', '/api/devices/d1/disable', { raw: '' });
    expect(r.status).toBe(200);
    expect(r.body.enabled).toBe(false);
  });
});

describe('admin API errors and mapping', () => {
  it('PlatformError codes map to the statuses of contracts.ts', async () => {
    const env = await start();
    await env.call('POST', '/api/devices', { body: { id: 'd1', type: 'meter' } });
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/api/devices/none', undefined, 404, 'DEVICE_NOT_FOUND'],
      ['POST', '/api/devices', { id: 'd1', type: 'meter' }, 409, 'DEVICE_EXISTS'],
      ['DELETE', '/api/devices/d1/credentials/nope', undefined, 404, 'CREDENTIAL_NOT_FOUND'],
      ['PATCH', '/api/devices/d1/shadow/desired', { desired: { a: 1 }, version: 7 }, 409, 'SHADOW_VERSION_MISMATCH'],
      ['PATCH', '/api/devices/d1/shadow/desired', { desired: { a: 'x'.repeat(2000) } }, 413, 'SHADOW_TOO_LARGE'],
      ['GET', '/api/commands/none', undefined, 404, 'COMMAND_NOT_FOUND'],
      ['DELETE', '/api/clients/nobody', undefined, 404, 'CLIENT_NOT_CONNECTED'],
      ['DELETE', '/api/retained/no/such', undefined, 404, 'RETAINED_NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await env.call(method, path, { body });
      expect([r.status, r.body.error], `${method} ${path}`).toEqual([status, code]);
      expect(typeof r.body.message).toBe('string');
    }
  });

  it('unknown paths are 404 NOT_FOUND; a known path with another method is 405 with Allow', async () => {
    const env = await start();
    const r = await env.call('GET', '/api/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'NOT_FOUND', message: 'no route for GET /api/nope' });
    const m = await env.call('PUT', '/api/devices/d1');
    expect(m.status).toBe(405);
    expect(m.body.error).toBe('METHOD_NOT_ALLOWED');
    expect(m.headers.get('allow')).toBe('GET, PATCH, DELETE, HEAD');
  });

  it('an unexpected error is 500 INTERNAL without internals (and is logged)', async () => {
    const env = await start();
    env.platform.devices.get = async () => {
      throw new Error('disk on fire at /var/secret');
    };
    const r = await env.call('GET', '/api/devices/d1');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'INTERNAL', message: 'internal error' });
  });

  it('/api/slo and /api/bans stay on the probe server, unchanged', async () => {
    const env = await start();
    const slo = await env.call('GET', '/api/slo', { token: null });
    expect(slo.status).toBe(200);
    expect(slo.body).toEqual({ slos: [{ name: 'x' }] });
    const bans = await env.call('GET', '/api/bans', { token: null });
    expect(bans.status).toBe(401);
    expect(bans.body.error).toBe('unauthorized');
    expect((await env.call('GET', '/api/bans')).body).toEqual({ bans: [] });
    expect((await env.call('GET', '/livez', { token: null })).status).toBe(200);
    const nope = await env.call('GET', '/nope', { token: null });
    expect([nope.status, nope.body.error]).toEqual([404, 'not_found']);
  });
});

describe('admin API handlers', () => {
  it('list filters: label=k:v repeatable, enabled, presence, cursor, limit reach DeviceRegistry.list', async () => {
    const env = await start();
    const r = await env.call('GET', '/api/devices?type=meter&label=site:north&label=floor:2:a&enabled=false&presence=connected&cursor=m-1&limit=5');
    expect(r.status).toBe(200);
    expect(env.platform.calls.find((c) => c.method === 'devices.list')?.args[0]).toEqual({
      type: 'meter',
      labels: { site: 'north', floor: '2:a' },
      enabled: false,
      presence: 'connected',
      after: 'm-1',
      limit: 5,
    });
  });

  it('pages devices with nextCursor until the last page', async () => {
    const env = await start();
    for (let i = 0; i < 5; i++) await env.call('POST', '/api/devices', { body: { id: `d${i}`, type: 't' } });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await env.call('GET', `/api/devices?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.body.items.map((d: { id: string }) => d.id));
      cursor = r.body.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
  });

  it('PATCH with enabled goes through setEnabled (which kicks); other fields through update', async () => {
    const env = await start();
    await env.call('POST', '/api/devices', { body: { id: 'd1', type: 't' } });
    const r = await env.call('PATCH', '/api/devices/d1', { body: { labels: { a: 'b' }, enabled: false } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ labels: { a: 'b' }, enabled: false });
    expect(env.platform.calls.map((c) => c.method)).toEqual(['devices.create', 'devices.update', 'devices.setEnabled']);
  });

  it('a secret is returned once and no hash ever; fingerprints are stored as colon upper-case hex', async () => {
    const env = await start();
    await env.call('POST', '/api/devices', { body: { id: 'd1', type: 't' } });
    const s = await env.call('POST', '/api/devices/d1/secrets', { body: { overlapS: 60 } });
    expect(s.status).toBe(201);
    expect(s.body.secret).toBe('the-secret');
    expect(s.body.credential.secretHash).toBeUndefined();
    expect(env.platform.calls.find((c) => c.method === 'credentials.issueSecret')?.args).toEqual(['d1', { overlapS: 60 }]);
    const c = await env.call('POST', '/api/devices/d1/certificates', { body: { fingerprint256: 'ab'.repeat(32) } });
    expect(c.status).toBe(201);
    expect(c.body.fingerprint256).toBe(Array(32).fill('AB').join(':'));
    const list = await env.call('GET', '/api/devices/d1/credentials');
    expect(list.body.items).toHaveLength(2);
    expect(JSON.stringify(list.body)).not.toContain('scrypt');
  });

  it('retained topics with slashes, raw or URL-encoded', async () => {
    const env = await start();
    expect((await env.call('GET', '/api/retained?filter=a/%2B')).body.items).toEqual([{ topic: 'a/b', payloadBase64: 'eA==', qos: 0 }]);
    expect(env.platform.calls.at(-1)?.args).toEqual(['a/+', 100]);
    expect((await env.call('DELETE', '/api/retained/a%2Fb')).status).toBe(204);
    expect(env.platform.calls.at(-1)?.args).toEqual(['a/b']);
  });

  it('long-poll: GET /api/commands/{id}?waitMs answers when the command is final', async () => {
    const env = await start();
    await env.call('POST', '/api/devices', { body: { id: 'd1', type: 't' } });
    const sent = await env.call('POST', '/api/devices/d1/commands', { body: { name: 'reboot', payload: { at: 1 } } });
    expect(sent.status).toBe(201);
    expect(sent.headers.get('location')).toBe(`/api/commands/${sent.body.id}`);
    const waiting = env.call('GET', `/api/commands/${sent.body.id}?waitMs=20000`);
    await expect.poll(() => env.platform.calls.some((c) => c.method === 'commands.wait')).toBe(true);
    env.platform.settle(sent.body.id, 'acked');
    const r = await waiting;
    expect([r.status, r.body.state]).toEqual([200, 'acked']);
  });

  it('a pending long-poll ends with 503 UNAVAILABLE when the API closes', async () => {
    const env = await start();
    await env.call('POST', '/api/devices', { body: { id: 'd1', type: 't' } });
    const sent = await env.call('POST', '/api/devices/d1/commands', { body: { name: 'reboot' } });
    const waiting = env.call('GET', `/api/commands/${sent.body.id}?waitMs=20000`).catch((e: unknown) => e);
    await expect.poll(() => env.platform.calls.some((c) => c.method === 'commands.wait')).toBe(true);
    const closing = server!.close();
    server = undefined;
    await closing;
    const r = await waiting;
    // Either the 503 made it out before the connection was dropped, or the fetch saw it dropped.
    if (r instanceof Error) expect(r.message).toMatch(/fetch failed|terminated|socket/);
    else expect((r as { status: number }).status).toBe(503);
  });
});
