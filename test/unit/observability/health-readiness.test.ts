/**
 * Health checks (optional dependencies warn), the human rendering of /healthz?verbose,
 * readiness conditions, and the HTTP routes added for metrics and the SLO API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../../src/app/http-server.js';
import { formatHealthText, HealthRegistry } from '../../../src/observability/health.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ResilienceRegistry } from '../../../src/observability/metrics/resilience-metrics.js';
import { evaluateReadiness } from '../../../src/observability/readiness.js';
import { ManualClock } from '../../../src/ports/clock.js';
import { BreakerRegistry, CircuitBreaker, TokenBucket } from '../../../src/resilience/index.js';
import { Registry } from 'prom-client';
import { parsePromText } from './prom-text.js';

describe('health registry', () => {
  it('a failing optional dependency is warn, not fail (the service stays up)', async () => {
    const h = new HealthRegistry();
    h.register('store:writable', () => ({ status: 'pass' }));
    h.register('bridge:http', () => ({ status: 'fail', output: 'connection refused' }), { optional: true });
    const r = await h.run();
    expect(r.status).toBe('warn');
    expect(r.checks['bridge:http']![0]).toMatchObject({ status: 'warn', output: 'optional dependency failing: connection refused' });
  });

  it('a required dependency that fails fails the report', async () => {
    const h = new HealthRegistry();
    h.register('store:writable', () => ({ status: 'fail', observedValue: false }));
    h.register('bridge:http', () => ({ status: 'pass' }), { optional: true });
    expect((await h.run()).status).toBe('fail');
  });

  it('?verbose text: one line per check with its measurement', async () => {
    const h = new HealthRegistry({ serviceId: 'holdfast' });
    h.register('eventloop:delay', () => ({ status: 'pass', observedValue: 3.5, observedUnit: 'ms' }));
    h.register('store:writable', () => ({ status: 'fail', observedValue: false, output: 'SQLITE_FULL: disk full' }));
    expect(formatHealthText(await h.run())).toBe('[+] eventloop:delay pass 3.5 ms\n[-] store:writable fail false (SQLITE_FULL: disk full)\nholdfast fail\n');
  });
});

describe('readiness', () => {
  it('ready only when every condition holds; the first unmet one is the reason', () => {
    let draining = false;
    let store = true;
    const r = () => evaluateReadiness({ notDraining: () => !draining, storeWritable: () => store, listenersOpen: () => true });
    expect(r()).toEqual({ ready: true, conditions: { notDraining: true, storeWritable: true, listenersOpen: true } });
    store = false;
    expect(r()).toMatchObject({ ready: false, reason: 'store not writable' });
    draining = true;
    expect(r()).toMatchObject({ ready: false, reason: 'draining (stopping)', conditions: { notDraining: false, storeWritable: false } });
  });

  it('a condition that throws is unmet', () => {
    expect(evaluateReadiness({ x: () => { throw new Error('boom'); } })).toMatchObject({ ready: false, reason: 'x not satisfied' });
  });
});

describe('HTTP routes for metrics and the SLO API', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('/metrics and /api/slo are 404 when not configured, served when they are', async () => {
    const base = async (deps: Partial<Parameters<typeof createHttpServer>[0]>) => {
      await server?.close();
      server = createHttpServer({ health: new HealthRegistry(), logger: silentLogger(), readiness: () => ({ ready: true }), ...deps });
      return `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
    };
    let b = await base({});
    expect((await fetch(`${b}/metrics`)).status).toBe(404);
    expect((await fetch(`${b}/api/slo`)).status).toBe(404);
    b = await base({ metrics: { text: async () => 'x_total 1\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' }, slo: { status: () => [{ name: 'a' }] } });
    const m = await fetch(`${b}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await m.text()).toBe('x_total 1\n');
    expect(await (await fetch(`${b}/api/slo`)).json()).toEqual({ slos: [{ name: 'a' }] });
  });
});

describe('resilience registry (breakers, limiters, shedders)', () => {
  it('exports breaker states one-hot, keyed breakers as a count, limiter refusals and shed level; shedding() feeds /readyz', async () => {
    const clock = new ManualClock();
    const r = new ResilienceRegistry();
    const auth = new CircuitBreaker({ name: 'auth', consecutiveFailures: 1, clock });
    r.addBreaker('auth', () => auth.state);
    const keyed = new BreakerRegistry({ clock, breaker: { consecutiveFailures: 1 } });
    r.addBreakerGroup('bridge', keyed);
    const bucket = new TokenBucket({ capacity: 1, refillPerSec: 1, clock });
    r.addLimiter('connect-rate', () => bucket.counters.refused);
    let level = 0;
    const shedder = { get shedding() { return level > 0; }, get level() { return level; }, counters: { shed: [3, 1] } };
    r.addShedder('admission', shedder);
    const reg = new Registry();
    r.register(reg);
    auth.onFailure(auth.tryAcquire());
    keyed.get('host-a').onFailure(keyed.get('host-a').tryAcquire());
    bucket.tryTake();
    bucket.tryTake();
    const m = parsePromText(await reg.metrics());
    expect(m.value('holdfast_breaker_state', { breaker: 'auth', state: 'open' })).toBe(1);
    expect(m.value('holdfast_breaker_state', { breaker: 'auth', state: 'closed' })).toBe(0);
    expect(m.value('holdfast_breakers_open', { group: 'bridge' })).toBe(1);
    expect(m.value('holdfast_limiter_refusals_total', { limiter: 'connect-rate' })).toBe(1);
    expect(m.value('holdfast_limiter_refusals_total', { limiter: 'shed:admission' })).toBe(4);
    expect(r.shedding()).toBe(false);
    level = 2;
    expect(r.shedding()).toBe(true);
    expect((parsePromText(await reg.metrics())).value('holdfast_load_shed_level', { shedder: 'admission' })).toBe(2);
  });
});
