import { describe, expect, it } from 'vitest';
import { HealthRegistry, worstStatus } from '../../../src/observability/health.js';

describe('health check registry (application/health+json)', () => {
  it('reports each check under its component:measurement key, overall status = worst', async () => {
    const h = new HealthRegistry({ serviceId: 'holdfast', version: '1.2.3' });
    h.register('broker:ready', () => ({ status: 'pass', observedValue: true }));
    h.register('eventloop:delay', () => ({ status: 'warn', observedValue: 250, observedUnit: 'ms' }));
    const report = await h.run();
    expect(report.status).toBe('warn');
    expect(report.serviceId).toBe('holdfast');
    expect(report.version).toBe('1.2.3');
    expect(Object.keys(report.checks).sort()).toEqual(['broker:ready', 'eventloop:delay']);
    expect(report.checks['eventloop:delay']![0]).toMatchObject({ status: 'warn', observedValue: 250, observedUnit: 'ms' });
    expect(report.checks['broker:ready']![0]!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('no checks = pass', async () => {
    expect((await new HealthRegistry().run()).status).toBe('pass');
  });

  it('a check that throws reports fail with its message', async () => {
    const h = new HealthRegistry();
    h.register('store:write', () => {
      throw new Error('disk full');
    });
    const report = await h.run();
    expect(report.status).toBe('fail');
    expect(report.checks['store:write']![0]).toMatchObject({ status: 'fail', output: 'disk full' });
  });

  it('a check that misses its deadline reports fail and is told to abort', async () => {
    const h = new HealthRegistry({ checkTimeoutMs: 20 });
    let aborted = false;
    h.register('remote:ping', (signal) => new Promise(() => signal.addEventListener('abort', () => (aborted = true))));
    const report = await h.run();
    expect(report.checks['remote:ping']![0]).toMatchObject({ status: 'fail', output: 'no answer within 20 ms' });
    expect(aborted).toBe(true);
  });

  it('keys must look like component:measurement and be unique; unregister removes', async () => {
    const h = new HealthRegistry();
    expect(() => h.register('nocolon', () => ({ status: 'pass' }))).toThrow(/component:measurement/);
    const off = h.register('a:b', () => ({ status: 'fail' }));
    expect(() => h.register('a:b', () => ({ status: 'pass' }))).toThrow(/already/);
    off();
    expect(h.keys()).toEqual([]);
    expect((await h.run()).status).toBe('pass');
  });

  it('worstStatus orders pass < warn < fail', () => {
    expect(worstStatus(['pass', 'fail', 'warn'])).toBe('fail');
    expect(worstStatus(['pass', 'warn'])).toBe('warn');
    expect(worstStatus([])).toBe('pass');
  });
});
