import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../../src/app/http-server.js';
import { isHoldfastError } from '../../../src/errors/index.js';
import { HealthRegistry } from '../../../src/observability/health.js';
import { silentLogger } from '../../../src/observability/logger.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(ready: () => boolean, health = new HealthRegistry()): Promise<string> {
  server = createHttpServer({ health, logger: silentLogger(), readiness: () => (ready() ? { ready: true } : { ready: false, reason: 'broker not ready' }) });
  const port = await server.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

describe('HTTP probes', () => {
  it('/livez is 200 while serving', async () => {
    const base = await start(() => false);
    const res = await fetch(`${base}/livez`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'pass' });
  });

  it('/readyz follows readiness: 503 then 200', async () => {
    let ready = false;
    const base = await start(() => ready);
    const before = await fetch(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ status: 'fail', output: 'broker not ready' });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('/healthz serves application/health+json; 200 on warn, 503 on fail', async () => {
    const health = new HealthRegistry();
    let status: 'pass' | 'warn' | 'fail' = 'warn';
    health.register('broker:ready', () => ({ status }));
    const base = await start(() => true, health);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/health\+json/);
    expect(await res.json()).toMatchObject({ status: 'warn', checks: { 'broker:ready': [{ status: 'warn' }] } });
    status = 'fail';
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });

  it('other paths are 404 JSON; other methods 405', async () => {
    const base = await start(() => true);
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
    const post = await fetch(`${base}/livez`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('HEAD gets the status without a body', async () => {
    const base = await start(() => false);
    const res = await fetch(`${base}/readyz`, { method: 'HEAD' });
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('');
  });

  it('a taken port rejects with TRANSPORT_ADDRESS_IN_USE naming the HTTP listener', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      server = createHttpServer({ health: new HealthRegistry(), logger: silentLogger(), readiness: () => ({ ready: true }) });
      const err = await server.listen(port, '127.0.0.1').catch((e: unknown) => e);
      expect(isHoldfastError(err, 'TRANSPORT_ADDRESS_IN_USE')).toBe(true);
      expect((err as { details: unknown }).details).toEqual({ listener: 'http', host: '127.0.0.1', port });
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
