/**
 * Per-event-kind log rate limiting: a storm of one kind is cut to its budget, other kinds
 * are untouched, nothing is dropped silently (the next line says how many went, a summary
 * lists the kinds), and fatal lines always pass.
 */
import { describe, expect, it } from 'vitest';
import { LogRateLimiter } from '../../../src/observability/log-rate-limit.js';
import { createLogger } from '../../../src/observability/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } };
}

describe('log lines rate-limited per event kind', () => {
  it('a storm of 10,000 lines of one kind writes burst + rate x time lines; another kind is not affected', () => {
    let now = 1_000_000;
    const limiter = new LogRateLimiter({ linesPerS: 10, burst: 20, now: () => now, summaryIntervalMs: 10_000 });
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination, pretty: false, rateLimit: limiter });
    // 10,000 auth failures over 5 s (one every 0.5 ms).
    for (let i = 0; i < 10_000; i++) {
      now += 0.5;
      log.warn({ clientId: `dev-${i}` }, 'authentication failed');
      if (i % 1000 === 0) log.info({ n: i }, 'heartbeat');
    }
    const auth = lines.filter((l) => l.msg === 'authentication failed');
    // 20 at once, then 10/s over 5 s: 70 (one more may pass on the boundary).
    expect(auth.length).toBeGreaterThanOrEqual(69);
    expect(auth.length).toBeLessThanOrEqual(71);
    expect(lines.filter((l) => l.msg === 'heartbeat')).toHaveLength(10);
    // Lines that pass after a gap say how many of their kind were dropped before them.
    const reported = auth.reduce((n, l) => n + (typeof l.suppressed === 'number' ? l.suppressed : 0), 0);
    expect(limiter.suppressedByLevel.get('warn')).toBe(10_000 - auth.length);
    // A later line of any kind carries the summary once the interval has passed.
    now += 10_000;
    log.info('later');
    const summary = lines.find((l) => l.msg === 'log lines suppressed (rate limit per kind)');
    expect(summary).toBeDefined();
    const unreported = (summary!.suppressed as Record<string, number>)['authentication failed'] ?? 0;
    expect(reported + unreported).toBe(10_000 - auth.length);
  });

  it('the kind is the event field when a line has one; fatal lines are never limited', () => {
    const now = 0;
    const limiter = new LogRateLimiter({ linesPerS: 1, burst: 2, now: () => now });
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination, pretty: false, rateLimit: limiter });
    for (let i = 0; i < 5; i++) log.error({ event: 'store-failing' }, `store failing attempt ${i}`);
    for (let i = 0; i < 5; i++) log.fatal('going down');
    expect(lines.filter((l) => l.event === 'store-failing')).toHaveLength(2);
    expect(lines.filter((l) => l.msg === 'going down')).toHaveLength(5);
  });

  it('the set of kinds is bounded: past maxKinds, new kinds share one bucket', () => {
    const limiter = new LogRateLimiter({ linesPerS: 1, burst: 1, maxKinds: 3, now: () => 0 });
    expect(['a', 'b', 'c'].map((k) => limiter.take(k, 'info'))).toEqual([0, 0, 0]);
    expect(limiter.take('d', 'info')).toBe(0); // opens the shared bucket
    expect(limiter.take('e', 'info')).toBe(-1); // same bucket, empty
  });

  it('linesPerS 0 disables limiting (no hook installed)', () => {
    const limiter = new LogRateLimiter({ linesPerS: 0, burst: 1 });
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination, pretty: false, rateLimit: limiter });
    for (let i = 0; i < 50; i++) log.info('same');
    expect(lines).toHaveLength(50);
  });
});
