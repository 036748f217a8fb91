/**
 * The shipped tracing of a real `holdfast start` (issue 7) to a real HTTP collector stand-in:
 * OTLP/HTTP JSON POSTed by the export worker, a publish -> deliver trace across two MQTT.js
 * clients with the right parent links, the subscriber's `traceparent` pointing at the deliver
 * span, exporter headers from the environment, spans of the last moments flushed by SIGTERM,
 * and a collector that fails (503, then gone) costing spans, counted, never the broker.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/transport-wait.js';
import { ensureBuilt, startDaemon, tempDir, type Daemon } from './helpers.js';

beforeAll(ensureBuilt, 180_000);

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status: { code: number; message?: string };
}

interface Collector {
  url: string;
  spans: OtlpSpan[];
  requests: Array<{ headers: IncomingHttpHeaders; resource: unknown }>;
  /** Answer each request with this status (200 by default). */
  status: number;
  close(): Promise<void>;
}

async function collector(): Promise<Collector> {
  const c: Omit<Collector, 'url' | 'close'> = { spans: [], requests: [], status: 200 };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (c.status !== 200) {
        res.writeHead(c.status, { 'retry-after': '0' }).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(parts).toString()) as { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of body.resourceSpans) {
        c.requests.push({ headers: req.headers, resource: rs.resource });
        for (const ss of rs.scopeSpans) c.spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(c, {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as Collector;
}

const daemons: Daemon[] = [];
const clients: MqttClient[] = [];
const collectors: Collector[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  for (const c of collectors.splice(0)) await c.close();
});

async function start(otlpUrl: string, env: Record<string, string> = {}): Promise<{ d: Daemon; mqttUrl: string; http: string }> {
  const cwd = tempDir();
  const file = join(cwd, 'holdfast.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null } },
      http: { port: 0 },
      store: { kind: 'memory' },
      dataDir: 'state',
      overload: { enabled: false },
      observability: { tracing: { otlpUrl, sampleRatio: 1, exportTimeoutMs: 2_000 } },
    }),
  );
  const d = startDaemon(['start', '--config', file], { cwd, env });
  daemons.push(d);
  const ports = (await d.waitForMsg('listening')).ports as { mqtt: number; http: number };
  return { d, mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`, http: `http://127.0.0.1:${ports.http}` };
}

async function client(url: string, clientId: string): Promise<MqttClient> {
  const c = await withTimeout(mqtt.connectAsync(url, { clientId, protocolVersion: 5, reconnectPeriod: 0 }), 10_000, `connect ${clientId}`);
  clients.push(c);
  return c;
}

async function until<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25)); // polling another process's output: no event to wait for
  }
}

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

async function metric(http: string, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(' ')[1]);
}

describe('holdfast start: OTLP/HTTP trace export (issue 7)', () => {
  it('W3C Trace Context in MQTT5 user properties: publish -> deliver across two clients reaches the collector with parent links; SIGTERM flushes', async () => {
    const col = await collector();
    collectors.push(col);
    const { d, mqttUrl, http } = await start(col.url, { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr%C3%A9t' });
    const sub = await client(mqttUrl, 'trace-sub');
    await sub.subscribeAsync('plant/line1/temp', { qos: 1 });
    const pub = await client(mqttUrl, 'trace-pub');
    const received = new Promise<IPublishPacket>((resolve) => sub.once('message', (_t, _p, packet) => resolve(packet)));
    await pub.publishAsync('plant/line1/temp', '21.5', { qos: 1 });
    const msg = await withTimeout(received, 10_000, 'the message');

    const publish = await until(() => col.spans.find((s) => s.name === 'mqtt publish' && attr(s, 'messaging.client_id') === 'trace-pub'), 'the publish span');
    const deliver = await until(() => col.spans.find((s) => s.name === 'mqtt deliver'), 'the deliver span');
    expect(publish.parentSpanId).toBeUndefined();
    expect(publish.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attr(publish, 'messaging.destination.name')).toBe('plant/line1/temp');
    expect(deliver.traceId).toBe(publish.traceId);
    expect(deliver.parentSpanId).toBe(publish.spanId);
    expect(deliver.kind).toBe(4); // SPAN_KIND_PRODUCER
    expect(attr(deliver, 'messaging.client_id')).toBe('trace-sub');
    expect(BigInt(deliver.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(deliver.startTimeUnixNano));
    const tp = (msg.properties?.userProperties as Record<string, string> | undefined)?.traceparent;
    expect(tp).toBe(`00-${publish.traceId}-${deliver.spanId}-01`);
    // Both clients' connect spans, the resource, the headers from the environment.
    await until(() => (col.spans.filter((s) => s.name === 'mqtt connect').length >= 2 ? true : undefined), 'two connect spans');
    expect(col.requests[0]!.headers['x-api-key']).toBe('s3crét');
    expect(col.requests[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.stringify(col.requests[0]!.resource)).toContain('"service.name","value":{"stringValue":"holdfast"}');
    await until(async () => ((await metric(http, 'holdfast_trace_spans_total{outcome="exported"}')) ?? 0) >= 4 || undefined, 'the exported count');

    // A publish right before SIGTERM: its spans leave with the shutdown, not lost in a queue.
    await pub.publishAsync('plant/line1/last', 'bye', { qos: 1 });
    d.child.kill('SIGTERM');
    const exit = await withTimeout(d.exited, 20_000, 'exit');
    expect(exit.code).toBe(0);
    expect(col.spans.some((s) => s.name === 'mqtt publish' && attr(s, 'messaging.destination.name') === 'plant/line1/last')).toBe(true);
  });

  it('a failing collector (503, then gone) costs spans, counted as failed; MQTT is unaffected', async () => {
    const col = await collector();
    collectors.push(col);
    col.status = 503;
    const { mqttUrl, http } = await start(col.url);
    const sub = await client(mqttUrl, 'down-sub');
    await sub.subscribeAsync('a/b', { qos: 1 });
    const pub = await client(mqttUrl, 'down-pub');
    let got = 0;
    sub.on('message', () => got++);
    for (let i = 0; i < 20; i++) await withTimeout(pub.publishAsync('a/b', String(i), { qos: 1 }), 10_000, `PUBACK ${i}`);
    await until(() => (got === 20 ? true : undefined), 'all 20 messages');
    // 503 is retried (3 attempts, Retry-After 0), then the batch fails.
    await until(async () => ((await metric(http, 'holdfast_trace_spans_total{outcome="failed"}')) ?? 0) > 0 || undefined, 'failed spans counted');
    await col.close();
    collectors.splice(collectors.indexOf(col), 1);
    for (let i = 0; i < 5; i++) await withTimeout(pub.publishAsync('a/b', `gone ${i}`, { qos: 1 }), 10_000, `PUBACK gone ${i}`);
    await until(() => (got === 25 ? true : undefined), 'the messages after the collector went away');
    expect(await metric(http, 'holdfast_trace_spans_total{outcome="exported"}')).toBe(0);
  });
});
