/**
 * The export counts of the shipped tracing (span-batcher.ts) as Prometheus metrics, read at
 * scrape time: spans exported, failed, dropped, and those waiting or being exported.
 */
import type { Registry } from 'prom-client';
import { scrapeCounter, scrapeGauge } from '../metrics/scrape-metrics.js';
import type { SpanExportStats } from './span-batcher.js';

export function registerTracingMetrics(registry: Registry, stats: () => SpanExportStats): void {
  scrapeCounter(registry, {
    name: 'holdfast_trace_spans_total',
    help: 'Spans of the OTLP tracing by outcome: exported, failed (the collector refused or was unreachable), dropped (export queue full).',
    labelNames: ['outcome'],
    read: () => {
      const t = stats();
      return [[{ outcome: 'exported' }, t.exported], [{ outcome: 'failed' }, t.failed], [{ outcome: 'dropped' }, t.dropped]] as const;
    },
  });
  scrapeGauge(registry, { name: 'holdfast_trace_spans_queued', help: 'Spans waiting for export or being exported.', read: () => stats().queued });
}
