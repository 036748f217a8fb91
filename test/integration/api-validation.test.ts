/**
 * Issue 5, "400 on bad input for every endpoint": driven by the served /api/openapi.json,
 * so that a route added later without a bad-input case here fails this test. Each
 * operation gets (1) a malformed value of one of its own inputs and (2) an unknown query
 * parameter; both must be 400 INVALID_INPUT with details naming the input, before anything
 * is done. The document must list exactly the routes of the admin API's route table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApi } from '../../src/app/api/admin-api.js';
import { openApiPath } from '../../src/app/api/openapi.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startApiApp, type ApiApp, type Body } from './api-harness.js';

let api: ApiApp;
let doc: Body;

beforeAll(async () => {
  api = await startApiApp();
  const r = await api.call('GET', '/api/openapi.json', { token: null });
  expect(r.status).toBe(200);
  doc = r.body;
  expect((await api.call('POST', '/api/devices', { body: { id: 'v-ok', type: 'meter' } })).status).toBe(201);
}, 30_000);

afterAll(async () => {
  await api?.stop();
});

interface BadCase {
  path: string;
  body?: unknown;
  raw?: string;
  /** The details path that must be named (exactly, or as a prefix ending in a dot). */
  where: string;
}

const long = 'x'.repeat(129);
/** One malformed input per operation of the admin API, by operationId. */
const BAD: Record<string, BadCase> = {
  createDevice: { path: '/api/devices', body: { id: 'has space', type: 'meter' }, where: 'body.id' },
  listDevices: { path: '/api/devices?limit=0', where: 'query.limit' },
  getDevice: { path: '/api/devices/bad%20id', where: 'params.id' },
  updateDevice: { path: '/api/devices/v-ok', body: { enabled: 'yes' }, where: 'body.enabled' },
  deleteDevice: { path: `/api/devices/${long}`, where: 'params.id' },
  disableDevice: { path: '/api/devices/v-ok/disable', body: { now: true }, where: 'body' },
  enableDevice: { path: '/api/devices/bad%2Fid/enable', where: 'params.id' },
  issueSecret: { path: '/api/devices/v-ok/secrets', body: { overlapS: -5 }, where: 'body.overlapS' },
  addCertificate: { path: '/api/devices/v-ok/certificates', body: { fingerprint256: 'not-hex' }, where: 'body.fingerprint256' },
  listCredentials: { path: '/api/devices/bad%20id/credentials', where: 'params.id' },
  revokeCredential: { path: `/api/devices/v-ok/credentials/${long}`, where: 'params.credId' },
  getShadow: { path: '/api/devices/bad%20id/shadow', where: 'params.id' },
  updateDesired: { path: '/api/devices/v-ok/shadow/desired', body: { desired: [1, 2] }, where: 'body.desired' },
  shadowHistory: { path: '/api/devices/v-ok/shadow/history?limit=abc', where: 'query.limit' },
  sendCommand: { path: '/api/devices/v-ok/commands', body: { name: '', payload: 1 }, where: 'body.name' },
  listCommands: { path: '/api/devices/v-ok/commands?state=done', where: 'query.state' },
  getCommand: { path: '/api/commands/some-id?waitMs=-1', where: 'query.waitMs' },
  listClients: { path: '/api/clients?limit=100000', where: 'query.limit' },
  kickClient: { path: '/api/clients/someone', body: { reason: 'x' }, where: 'body' },
  listSessions: { path: '/api/sessions?after=', where: 'query.after' },
  listRetained: { path: '/api/retained?filter=a/%23/b', where: 'query.filter' },
  deleteRetained: { path: '/api/retained/a/%2B/b', where: 'params.*' },
};

/** The admin API's operations in the served document (the probe server's /api/slo and /api/bans are tagged operations). */
function operations(): { method: string; path: string; operationId: string }[] {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Body>>)) {
    for (const [method, op] of Object.entries(item)) {
      if ((op.tags as string[]).includes('operations')) continue;
      out.push({ method: method.toUpperCase(), path, operationId: String(op.operationId) });
    }
  }
  return out;
}

function expectInvalid(r: { status: number; body: Body }, where: string, what: string): void {
  expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(400);
  expect(r.body.error, what).toBe('INVALID_INPUT');
  expect(typeof r.body.message, what).toBe('string');
  expect(r.body.details?.length, `${what}: details`).toBeGreaterThan(0);
  const paths = (r.body.details as { path: string; problem: string }[]).map((d) => d.path);
  expect(paths.some((p) => p === where || p.startsWith(`${where}.`)), `${what}: details name ${where}, got ${JSON.stringify(paths)}`).toBe(true);
  for (const d of r.body.details) expect(d.problem.length, what).toBeGreaterThan(0);
}

describe('issue 5 admin API: OpenAPI document and 400 on bad input for every endpoint', () => {
  it('issue 5 /api/openapi.json parses (OpenAPI 3.1) and lists every route of the route table, each with a 400 response', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const table = createAdminApi({ platform: api.app.platform!, tokens: [], logger: silentLogger() });
    try {
      const fromTable = table.routes.map((r) => `${r.method} ${openApiPath(r.url)} ${r.operationId}`).sort();
      const fromDoc = operations().map((o) => `${o.method} ${o.path} ${o.operationId}`).sort();
      expect(fromDoc).toEqual(fromTable);
    } finally {
      await table.close();
    }
    for (const o of operations()) {
      const op = doc.paths[o.path][o.method.toLowerCase()];
      expect(op.responses['400'], o.operationId).toBeDefined();
      expect(op.responses['401'], o.operationId).toBeDefined();
    }
    // Every $ref resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
  });

  it('issue 5 every endpoint of the document has a bad-input case here (no endpoint forgotten)', () => {
    expect(Object.keys(BAD).sort()).toEqual(operations().map((o) => o.operationId).sort());
  });

  it('issue 5 400 INVALID_INPUT with details for a malformed input of every endpoint', async () => {
    for (const o of operations()) {
      const c = BAD[o.operationId]!;
      const r = await api.call(o.method, c.path, { ...(c.body === undefined ? {} : { body: c.body }) });
      expectInvalid(r, c.where, `${o.method} ${c.path} (${o.operationId})`);
    }
  });

  it('issue 5 400 INVALID_INPUT for an unknown query parameter on every endpoint (strict inputs)', async () => {
    for (const o of operations()) {
      const concrete = o.path
        .replace('{id}', o.path.startsWith('/api/commands') ? 'cmd-x' : o.path.startsWith('/api/clients') ? 'cl-x' : 'v-ok')
        .replace('{credId}', 'cred-x')
        .replace('{topic}', 'a/b');
      const r = await api.call(o.method, `${concrete}?bogusParam=1`, o.method === 'POST' && o.operationId === 'createDevice' ? { body: { id: 'never-made', type: 'meter' } } : {});
      expectInvalid(r, 'query', `${o.method} ${concrete}?bogusParam=1 (${o.operationId})`);
      expect(JSON.stringify(r.body.details)).toContain('bogusParam');
    }
    // Nothing was done by any refused request.
    expect((await api.call('GET', '/api/devices/never-made')).status).toBe(404);
    expect((await api.call('GET', '/api/devices/v-ok')).body.enabled).toBe(true);
  });

  it('issue 5 bodies: not JSON is 400 INVALID_INPUT, another content type 415, over the limit 413 (real HTTP)', async () => {
    const bad = await api.call('POST', '/api/devices', { raw: '{"id": "x",' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('INVALID_INPUT');
    const text = await api.call('POST', '/api/devices', { raw: 'id=x', type: 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await api.call('POST', '/api/devices', { body: { id: 'huge', type: 'meter', metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } } });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe('PAYLOAD_TOO_LARGE');
    const missing = await api.call('POST', '/api/devices', { body: { type: 'meter' } });
    expectInvalid(missing, 'body.id', 'missing id');
  });
});
