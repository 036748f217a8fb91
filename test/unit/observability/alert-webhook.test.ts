/**
 * The alert webhook: JSON POST with a deadline, a bound on requests in flight (events past
 * it are dropped and counted), failures reported, never thrown.
 */
import { describe, expect, it } from 'vitest';
import { AlertWebhook } from '../../../src/observability/slo/notifier.js';
import type { AlertEvent } from '../../../src/observability/slo/spec.js';

const event: AlertEvent = {
  slo: 'availability', alert: 'fast-burn', severity: 'page', state: 'firing', at: 1, burnRateThreshold: 14.4,
  longWindowS: 3600, shortWindowS: 300, longBurnRate: 20, shortBurnRate: 30, errorBudgetRemaining: 0.9,
};

describe('alert webhook', () => {
  it('POSTs the event as JSON; an HTTP error or a network failure is reported, not thrown', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const errors: unknown[] = [];
    let status = 200;
    const hook = new AlertWebhook({
      url: 'http://hooks.invalid/x',
      timeoutMs: 1000,
      onError: (err) => errors.push(err),
      fetchImpl: (async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        if (status === 0) throw new Error('ECONNREFUSED');
        return new Response('ok', { status });
      }) as unknown as typeof fetch,
    });
    hook.send(event);
    await hook.drain();
    expect(calls[0]!.init.method).toBe('POST');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual(event);
    expect(calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
    expect(hook.sent).toBe(1);
    status = 500;
    hook.send(event);
    status = 0;
    hook.send(event);
    await hook.drain();
    expect(hook.failed).toBe(2);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['ECONNREFUSED', 'webhook answered HTTP 500']);
  });

  it('at most maxInFlight requests at once; more events are dropped and counted', async () => {
    const pending: Array<() => void> = [];
    const hook = new AlertWebhook({
      url: 'http://hooks.invalid/x',
      timeoutMs: 1000,
      maxInFlight: 2,
      fetchImpl: (() => new Promise<Response>((r) => pending.push(() => r(new Response('ok'))))) as unknown as typeof fetch,
    });
    for (let i = 0; i < 5; i++) hook.send(event);
    expect(hook.inFlight).toBe(2);
    expect(hook.dropped).toBe(3);
    pending.forEach((f) => f());
    await hook.drain();
    expect(hook.sent).toBe(2);
    expect(hook.inFlight).toBe(0);
  });
});
