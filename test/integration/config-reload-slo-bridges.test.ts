/**
 * Hot reload of the SLOs and the bridges (issue 8): objectives and burn-rate alerts change
 * while the engine runs (an SLO that keeps its name keeps its windows); a webhook change
 * waits for a restart; the metrics follow the new SLOs. Bridge routes and sinks go through
 * the bridges' own reconfigure; bridges.ingress waits for a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { baseConfig, startFromFile, type ReloadApp } from './config-reload-helpers.js';

const apps: ReloadApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.stop();
});

describe('hot reload: SLOs (issue 8)', () => {
  it('new objectives and alerts apply live; the webhook is pending a restart', async () => {
    const a = await startFromFile((dir) => baseConfig(dir));
    apps.push(a);
    const before = (await (await fetch(`${a.base}/api/slo`)).json()) as { slos: Array<{ name: string; objective: number }> };
    expect(before.slos.map((s) => s.name)).toEqual(['availability', 'latency']);

    a.write(
      baseConfig(a.dir, {
        slo: {
          objectives: [
            { name: 'availability', sli: 'availability', objectivePercent: 99.9 },
            { name: 'fast', sli: 'latency', objectivePercent: 95, thresholdMs: 10 },
          ],
          alerts: [{ name: 'quick', severity: 'page', burnRate: 10, longWindowS: 600, shortWindowS: 60 }],
          evaluateIntervalS: 5,
          webhook: { url: 'http://127.0.0.1:9/hook' },
        },
      }),
    );
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(200);
    expect(r.body.applied).toEqual(expect.arrayContaining(['slo.objectives', 'slo.alerts', 'slo.evaluateIntervalS']));
    expect(r.body.pendingRestart).toEqual(['slo.webhook.url']);

    const after = (await (await fetch(`${a.base}/api/slo`)).json()) as { slos: Array<{ name: string; objective: number; alerts: Array<{ name: string }> }> };
    expect(after.slos.map((s) => [s.name, s.objective])).toEqual([
      ['availability', 0.999],
      ['fast', 0.95],
    ]);
    expect(after.slos[0]!.alerts.map((x) => x.name)).toEqual(['quick']);
    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(metrics).toMatch(/holdfast_slo_objective_ratio\{slo="fast"\} 0\.95/);
    expect(metrics).not.toMatch(/holdfast_slo_objective_ratio\{slo="latency"\}/);
  });
});

describe('hot reload: bridges (issue 8)', () => {
  // Nothing listens on port 9: the sink's messages wait in its outbox, which is all this needs.
  const sink = { name: 'hook', kind: 'http', http: { url: 'http://127.0.0.1:9/in' } };

  it('routes and sinks change through the bridges reconfigure', async () => {
    const a = await startFromFile((dir) => baseConfig(dir, { bridges: { sinks: [sink], routes: [{ filter: 'r/#', sink: 'hook' }] } }));
    apps.push(a);
    expect(a.app.bridges?.status().routes).toBe(1);

    a.write(
      baseConfig(a.dir, {
        bridges: {
          sinks: [sink, { ...sink, name: 'second', http: { url: 'http://127.0.0.1:9/second' } }],
          routes: [
            { filter: 'r/#', sink: 'hook' },
            { filter: 's/#', sink: 'second' },
          ],
        },
      }),
    );
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ result: 'applied', revision: 2, pendingRestart: [] });
    expect(r.body.applied).toEqual(expect.arrayContaining(['bridges.routes', 'bridges.sinks']));
    const status = a.app.bridges!.status();
    expect(status.routes).toBe(2);
    expect(status.sinks.map((s) => s.name).sort()).toEqual(['hook', 'second']);
  });
});
