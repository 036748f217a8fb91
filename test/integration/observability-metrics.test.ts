/**
 * /metrics, /readyz, /healthz, $SYS, /api/slo, `holdfast slo` and SLO alerts on a real
 * in-process holdfast (issue 7). /metrics is read with a Prometheus text parser and the
 * counters must move as MQTT traffic flows.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { main, type CliIO } from '../../src/app/cli.js';
import type { RunningHoldfast } from '../../src/app/main.js';
import { VERSION } from '../../src/app/version.js';
import type { Store, StoreHealth } from '../../src/ports/store.js';
import { parsePromText, type PromText } from '../unit/observability/prom-text.js';
import { removeDataDirs, startApp, until } from './observability-helpers.js';

let app: (RunningHoldfast & { base: string; mqttUrl: string }) | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await app?.stop();
  app = undefined;
});
afterAll(() => removeDataDirs());

async function client(clientId: string, opts: Record<string, unknown> = {}): Promise<MqttClient> {
  const c = await connectAsync(app!.mqttUrl, { protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
  clients.push(c);
  return c;
}

async function scrape(): Promise<PromText> {
  const res = await fetch(`${app!.base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePromText(await res.text());
}

/** A store whose health the test sets, and whose close() waits until the test releases it. */
function controllableStore() {
  const inner = new MemoryStore();
  let health: StoreHealth = { ok: true };
  let releaseClose: () => void = () => undefined;
  const closeGate = new Promise<void>((r) => (releaseClose = r));
  let gateClose = false;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'health') return () => health;
      if (key === 'close') return async () => (gateClose ? closeGate : undefined);
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Store;
  return {
    store,
    fail: () => (health = { ok: false, code: 'SQLITE_IOERR', reason: 'disk I/O error (test)', since: Date.now() }),
    recover: () => (health = { ok: true }),
    holdClose: () => (gateClose = true),
    releaseClose: () => releaseClose(),
  };
}

describe('/metrics (Prometheus text format, read with a parser)', () => {
  it('counters move as traffic flows; gauges and histograms follow; labels are bounded', async () => {
    app = await startApp();
    const before = await scrape();
    expect(before.value('holdfast_build_info', { version: VERSION })).toBe(1);
    const sub = await client('metrics-sub');
    await sub.subscribeAsync('plant/+/temp', { qos: 1 });
    const pub = await client('metrics-pub');
    let got = 0;
    sub.on('message', () => got++);
    for (let i = 0; i < 5; i++) await pub.publishAsync(`plant/l${i}/temp`, `v${i}`, { qos: 1 });
    for (let i = 0; i < 3; i++) await pub.publishAsync('plant/l9/temp', 'q0', { qos: 0 });
    await pub.publishAsync('nobody/listens', 'x', { qos: 0 });
    await pub.publishAsync('plant/retained', 'r', { qos: 0, retain: true });
    await until(() => got === 8, 'the 8 deliveries');
    const after = await until(async () => {
      const m = await scrape();
      return m.value('holdfast_delivery_ack_seconds_count')! - (before.value('holdfast_delivery_ack_seconds_count') ?? 0) >= 5 && m;
    }, 'the 5 PUBACKs to be counted');
    const d = (name: string, labels?: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);

    expect(d('holdfast_connects_accepted_total')).toBe(2);
    expect(after.value('holdfast_connections')).toBe(2);
    expect(after.value('holdfast_sessions', { state: 'online' })).toBe(2);
    expect(after.value('holdfast_subscriptions', { kind: 'plain' })).toBe(1);
    expect(after.value('holdfast_retained_messages')).toBe(1);
    expect(d('holdfast_packets_received_total', { type: 'publish' })).toBe(10);
    expect(d('holdfast_packets_received_total', { type: 'subscribe' })).toBe(1);
    expect(d('holdfast_packets_sent_total', { type: 'puback' })).toBe(5);
    expect(d('holdfast_packets_received_total', { type: 'puback' })).toBe(5);
    expect(d('holdfast_messages_published_total')).toBe(10);
    expect(d('holdfast_messages_delivered_total')).toBe(8);
    expect(d('holdfast_messages_dropped_total', { reason: 'no-subscriber' })).toBe(2);
    expect(d('holdfast_bytes_received_total')).toBeGreaterThan(100);
    expect(d('holdfast_bytes_sent_total')).toBeGreaterThan(100);
    expect(d('holdfast_publish_to_deliver_seconds_count', { qos: '1+' })).toBe(5);
    expect(d('holdfast_publish_to_deliver_seconds_count', { qos: '0' })).toBe(3);
    expect(after.value('holdfast_publish_to_deliver_seconds_bucket', { qos: '1+', le: '+Inf' })).toBe(
      after.value('holdfast_publish_to_deliver_seconds_count', { qos: '1+' }),
    );
    expect(after.value('holdfast_inflight_messages')).toBe(0);
    expect(after.value('holdfast_store_writable')).toBe(1);
    expect(after.value('holdfast_breaker_state', { breaker: 'store', state: 'closed' })).toBe(1);
    expect(d('holdfast_slo_events_total', { slo: 'availability', outcome: 'good' })).toBe(2 + 5);
    expect(d('holdfast_slo_events_total', { slo: 'latency' })).toBe(5);
    // prom-client's process metrics: event-loop lag, GC pauses, heap.
    expect(after.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(after.types.get('nodejs_gc_duration_seconds')).toBe('histogram');
    expect(after.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // Every *_total family is a counter; no label carries a client id or a topic.
    for (const [name, type] of after.types) if (name.startsWith('holdfast_') && name.endsWith('_total')) expect(type, name).toBe('counter');
    const labelValues = after.samples.flatMap((s) => Object.values(s.labels));
    for (const v of labelValues) expect(v).not.toMatch(/metrics-(sub|pub)|plant\/|nobody/);
  });

  it('a refused CONNECT is counted by reason code', async () => {
    app = await startApp({ mqtt: { maxClientIdLength: 23 } });
    await expect(client('y'.repeat(30))).rejects.toThrow();
    const m = await until(async () => {
      const x = await scrape();
      return x.value('holdfast_connects_refused_total', { reason_code: '0x85' }) === 1 && x;
    }, 'the refusal to be counted');
    expect(m.value('holdfast_connections_closed_total', { cause: 'auth-failed' })).toBe(1);
  });
});

describe('/readyz and /healthz', () => {
  it('/readyz flips to 503 while the store fails and back when it recovers; /healthz reports store:writable', async () => {
    const s = controllableStore();
    app = await startApp({}, { store: s.store });
    expect((await fetch(`${app.base}/readyz`)).status).toBe(200);
    s.fail();
    const r = await fetch(`${app.base}/readyz?verbose`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ status: 'fail', output: 'store not writable', conditions: { storeWritable: false, listenersOpen: true, notDraining: true } });
    const h = await fetch(`${app.base}/healthz`);
    expect(h.status).toBe(503);
    expect(await h.json()).toMatchObject({ status: 'fail', checks: { 'store:writable': [{ status: 'fail', observedValue: false, componentType: 'datastore' }] } });
    const text = await (await fetch(`${app.base}/healthz?verbose`)).text();
    expect(text).toMatch(/^\[-\] store:writable fail false \(SQLITE_IOERR: disk I\/O error \(test\)\)$/m);
    expect((await scrape()).value('holdfast_store_writable')).toBe(0);
    s.recover();
    expect((await fetch(`${app.base}/readyz`)).status).toBe(200);
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
  });

  it('/readyz says draining as soon as a stop begins, while the broker is still closing', async () => {
    const s = controllableStore();
    app = await startApp({}, { store: s.store });
    s.holdClose();
    const stopping = app.stop();
    try {
      const r = await until(async () => {
        const res = await fetch(`${app!.base}/readyz`);
        return res.status === 503 && res;
      }, '/readyz to fail');
      expect(await r.json()).toEqual({ status: 'fail', output: 'draining (stopping)' });
      expect((await fetch(`${app.base}/livez`)).status).toBe(200);
    } finally {
      s.releaseClose();
      await stopping;
      app = undefined;
    }
  });
});

describe('$SYS topics', () => {
  it('publishes $SYS/broker/... retained every intervalS, changed values only', async () => {
    app = await startApp({ observability: { sys: { intervalS: 1 } } });
    const watcher = await client('sys-watcher');
    const values = new Map<string, string>();
    watcher.on('message', (t, p) => values.set(t, p.toString()));
    await watcher.subscribeAsync('$SYS/broker/#');
    await until(() => values.get('$SYS/broker/version'), 'the retained version');
    expect(values.get('$SYS/broker/version')).toBe(`holdfast ${VERSION}`);
    expect(values.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
    // The watcher itself is connected: the next round says so.
    await until(() => values.get('$SYS/broker/clients/connected') === '1', 'clients/connected = 1', 4_000);
    expect(Number(values.get('$SYS/broker/bytes/received'))).toBeGreaterThan(0);
    // A client cannot publish there (refused like an ACL denial).
    const err = (await watcher.publishAsync('$SYS/broker/version', 'fake', { qos: 1 }).catch((e: unknown) => e)) as { code?: number };
    expect(err.code).toBe(0x87);
  });
});

describe('SLO: /api/slo, holdfast slo, alerts on $holdfast/alerts/# and the webhook', () => {
  let hook: Server | undefined;
  afterEach(() => new Promise<void>((r) => (hook ? hook.close(() => r()) : r())));

  it('server-fault refusals burn the availability budget: every burn-rate alert fires once, published retained and POSTed', async () => {
    const posts: unknown[] = [];
    hook = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    app = await startApp({ slo: { webhook: { url: hookUrl } } });
    const watcher = await client('slo-watcher');
    const alerts = new Map<string, { state: string; slo: string; alert: string }>();
    watcher.on('message', (t, p) => alerts.set(t, JSON.parse(p.toString())));
    await watcher.subscribeAsync('$holdfast/alerts/#', { qos: 1 });
    // One connect succeeded (the watcher); 3 CONNECTs refused with 0x88 Server unavailable (a server fault).
    for (let i = 0; i < 3; i++) app.broker.stats.connectRefused(0x88);
    app.observability.slo!.tick();
    await until(() => alerts.size === 3, 'three alert messages');
    for (const rule of ['fast-burn', 'medium-burn', 'slow-burn']) {
      expect(alerts.get(`$holdfast/alerts/availability/${rule}`)).toMatchObject({ slo: 'availability', alert: rule, state: 'firing' });
    }
    await until(() => posts.length === 3, 'three webhook POSTs');
    expect(posts).toEqual(expect.arrayContaining([expect.objectContaining({ slo: 'availability', alert: 'fast-burn', state: 'firing', severity: 'page' })]));
    // The same state on the next tick changes nothing.
    app.observability.slo!.tick();
    const api = (await (await fetch(`${app.base}/api/slo`)).json()) as { slos: Array<{ name: string; errorBudgetRemaining: number; alerts: Array<{ firing: boolean }> }> };
    const availability = api.slos.find((s) => s.name === 'availability')!;
    expect(availability.errorBudgetRemaining).toBeLessThan(0);
    expect(availability.alerts.every((a) => a.firing)).toBe(true);
    expect(api.slos.find((s) => s.name === 'latency')!.alerts.some((a) => a.firing)).toBe(false);
    // The CLI prints the same and exits 2 while an alert fires.
    let out = '';
    const io: CliIO = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, stdin: process.stdin, env: {}, signals: process, cwd: process.cwd() };
    expect(await main(['slo', '--url', app.base], io)).toBe(2);
    expect(out).toMatch(/^availability: 99\.99% of CONNECTs/m);
    expect(out).toMatch(/FIRING fast-burn \(page: >= 14\.4x over 1h and 5m\)/);
    expect(out).toMatch(/^ {2}ok {5}fast-burn/m);
    expect(posts).toHaveLength(3);
  });
});
