/**
 * The OTLP export worker stopping after it started (otlp.ts `onWorkerLost`, which the app logs
 * as `trace-export-lost`): reported once, with the reason; the spans it held and every span
 * after it count as failed; the broker's side never throws and shutdown still completes.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadOtlpTracing } from '../../../src/observability/tracing/otlp.js';

const dying = new URL('../../fixtures/tracing/dying-export-worker.mjs', import.meta.url);

describe('OTLP export worker lost', () => {
  it('onWorkerLost is called once with the exit code; held and later spans count as failed; shutdown completes', async () => {
    const lost: string[] = [];
    const t = await loadOtlpTracing({
      url: 'http://127.0.0.1:9/v1/traces',
      serviceName: 'test',
      serviceVersion: '0',
      sampleRatio: 1,
      timeoutMs: 1_000,
      maxQueueSize: 2048,
      workerUrl: dying,
      onWorkerLost: (reason) => lost.push(reason),
    });
    // 128 spans make a full batch: it leaves at once, and the worker dies on it.
    for (let i = 0; i < 128; i++) t.tracer.startSpan('mqtt publish').end();
    await vi.waitFor(() => expect(lost).toEqual(['the export worker exited with code 7']), { timeout: 10_000 });
    expect(t.stats()).toEqual({ queued: 0, exported: 0, failed: 128, dropped: 0 });
    // From now on every batch fails at once, without a worker.
    for (let i = 0; i < 128; i++) t.tracer.startSpan('mqtt deliver').end();
    expect(t.stats()).toEqual({ queued: 0, exported: 0, failed: 256, dropped: 0 });
    await t.shutdown();
    expect(lost).toHaveLength(1);
  });
});
