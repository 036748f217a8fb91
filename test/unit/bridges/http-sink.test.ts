/**
 * The webhook sink against a real HTTP server on 127.0.0.1: request format, signature,
 * answers -> outcomes, single-mode ordering, timeouts, keep-alive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSink, verifyWebhookSignature, type HttpSinkOptions } from '../../../src/adapters/northbound/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { SinkMessage } from '../../../src/ports/sink.js';
import { batchItems, freePort, WebhookServer } from '../../integration/bridges-helpers.js';

const SECRET = 'a-secret-of-sixteen+';
let server: WebhookServer | undefined;
let sink: HttpSink | undefined;
afterEach(async () => {
  await sink?.close();
  await server?.close();
  sink = undefined;
  server = undefined;
});

function msg(id: number, body: string | Buffer, publisherId = 'dev-1', extra: Partial<SinkMessage> = {}): SinkMessage {
  return {
    messageId: id,
    idempotencyKey: `inst-${id}`,
    topic: `t/${publisherId}`,
    body: typeof body === 'string' ? Buffer.from(body) : body,
    qos: 1,
    publisherId,
    properties: undefined,
    createdAt: 1000 + id,
    attempt: 1,
    ...extra,
  };
}

async function setup(opts: Partial<HttpSinkOptions> = {}): Promise<{ server: WebhookServer; sink: HttpSink }> {
  server = new WebhookServer();
  await server.listen();
  sink = new HttpSink(
    { name: 'hook', http: { url: `${server.url}?x=1`, mode: 'batch', secret: SECRET, timeoutMs: 2000, connections: 2, concurrency: 4, headers: { authorization: 'Bearer t' }, ...opts } },
    { logger: silentLogger(), clock: { now: () => 1_700_000_000_000 } },
  );
  await sink.start();
  return { server, sink };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('http sink, batch mode', () => {
  it('POSTs one signed JSON document per batch with the idempotency keys; 2xx: every message ok', async () => {
    const { server, sink } = await setup();
    const out = await sink.send([msg(1, '{"a":1}'), msg(2, Buffer.from([0xff, 0x00]), 'dev-2', { properties: { contentType: 'application/x-bin' } })], signal());
    expect(out).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    expect(server.requests).toHaveLength(1);
    const r = server.requests[0]!;
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['idempotency-key']).toBe('inst-1-2-2');
    expect(r.headers['x-holdfast-timestamp']).toBe('1700000000000');
    expect(r.headers['x-holdfast-count']).toBe('2');
    expect(r.headers.authorization).toBe('Bearer t');
    expect(r.headers['x-holdfast-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, r.body, r.headers['x-holdfast-signature'] as string)).toBe(true);
    expect(verifyWebhookSignature('another-secret-0000', r.body, r.headers['x-holdfast-signature'] as string)).toBe(false);
    expect(batchItems(r)).toEqual([
      { idempotencyKey: 'inst-1', messageId: 1, topic: 't/dev-1', clientId: 'dev-1', qos: 1, timestamp: 1001, attempt: 1, payload: { a: 1 } },
      { idempotencyKey: 'inst-2', messageId: 2, topic: 't/dev-2', clientId: 'dev-2', qos: 1, timestamp: 1002, attempt: 1, contentType: 'application/x-bin', payloadBase64: Buffer.from([0xff, 0x00]).toString('base64') },
    ]);
  });

  it('408, 429 and 5xx reject the send (transient, the whole batch); other 4xx and 3xx refuse every message for good', async () => {
    const { server, sink } = await setup();
    for (const status of [408, 429, 500, 503]) {
      server.respond = () => status;
      await expect(sink.send([msg(1, 'x')], signal())).rejects.toThrow(new RegExp(`HTTP ${status}`));
    }
    server.respond = () => 400;
    const out = await sink.send([msg(1, 'x'), msg(2, 'y')], signal());
    expect(out.map((o) => o.status)).toEqual(['permanent', 'permanent']);
    expect(out[0]).toMatchObject({ error: 'HTTP 400: status 400 from the test receiver' });
    server.respond = () => 301;
    expect((await sink.send([msg(1, 'x')], signal()))[0]).toMatchObject({ status: 'permanent', error: expect.stringMatching(/redirects are not followed/) });
  });

  it('a receiver that is not listening: the send rejects (connection refused)', async () => {
    const port = await freePort();
    sink = new HttpSink(
      { name: 'hook', http: { url: `http://127.0.0.1:${port}/x`, mode: 'batch', timeoutMs: 2000, connections: 1, concurrency: 1, headers: {} } },
      { logger: silentLogger(), clock: { now: () => 0 } },
    );
    await expect(sink.send([msg(1, 'x')], signal())).rejects.toThrow(/ECONNREFUSED/);
    expect(sink.endpoint).toBe(`http:127.0.0.1:${port}`);
  });

  it('a receiver that never answers: the request times out after timeoutMs; an aborted batch rejects at once with the abort reason', async () => {
    const { server, sink } = await setup({ timeoutMs: 300 });
    server.respond = () => 0;
    const t0 = Date.now();
    await expect(sink.send([msg(1, 'x')], signal())).rejects.toThrow(/timeout/i);
    expect(Date.now() - t0).toBeLessThan(3000);
    const ac = new AbortController();
    const p = sink.send([msg(2, 'x')], ac.signal);
    ac.abort(new Error('batch deadline'));
    await expect(p).rejects.toThrow('batch deadline');
  });

  it('keeps connections alive: 20 batches in a row reuse the pool\'s connections (at most `connections` = 2)', async () => {
    const { server, sink } = await setup();
    for (let i = 1; i <= 20; i++) expect(await sink.send([msg(i, 'x')], signal())).toEqual([{ status: 'ok' }]);
    expect(server.requests).toHaveLength(20);
    expect(server.connections).toBeGreaterThanOrEqual(1);
    expect(server.connections).toBeLessThanOrEqual(2);
  });
});

describe('http sink, single mode', () => {
  it('one POST per message: the body as is, its own idempotency key, topic and client id headers, signature of that body', async () => {
    const { server, sink } = await setup({ mode: 'single' });
    expect(await sink.send([msg(1, '{"v":1}'), msg(2, 'raw', 'dev 2')], signal())).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    const byKey = new Map(server.requests.map((r) => [r.headers['idempotency-key'], r]));
    const a = byKey.get('inst-1')!;
    expect(a.body.toString()).toBe('{"v":1}');
    expect(a.headers['content-type']).toBe('application/json');
    expect(verifyWebhookSignature(SECRET, a.body, a.headers['x-holdfast-signature'] as string)).toBe(true);
    const b = byKey.get('inst-2')!;
    expect(b.headers['content-type']).toBe('application/octet-stream');
    expect(decodeURIComponent(b.headers['x-holdfast-client-id'] as string)).toBe('dev 2');
    expect(decodeURIComponent(b.headers['x-holdfast-topic'] as string)).toBe('t/dev 2');
  });

  it('a failed message holds back the later messages of the same device (order), other devices go on', async () => {
    const { server, sink } = await setup({ mode: 'single' });
    server.respond = (r) => (r.headers['idempotency-key'] === 'inst-2' ? 503 : 200);
    const out = await sink.send([msg(1, 'a1', 'a'), msg(2, 'a2', 'a'), msg(3, 'a3', 'a'), msg(4, 'b1', 'b'), msg(5, 'b2', 'b')], signal());
    expect(out.map((o) => o.status)).toEqual(['ok', 'retry', 'retry', 'ok', 'ok']);
    expect(out[2]).toMatchObject({ error: expect.stringMatching(/held back: message 2/) });
    expect(server.requests.map((r) => r.headers['idempotency-key']).sort()).toEqual(['inst-1', 'inst-2', 'inst-4', 'inst-5']);
  });

  it('when every message fails transiently the send rejects (the receiver is away, not the messages)', async () => {
    const { server, sink } = await setup({ mode: 'single' });
    server.respond = () => 502;
    await expect(sink.send([msg(1, 'x', 'a'), msg(2, 'y', 'b')], signal())).rejects.toThrow(/HTTP 502/);
    server.respond = () => 422;
    expect((await sink.send([msg(1, 'x', 'a')], signal())).map((o) => o.status)).toEqual(['permanent']);
  });
});
