/**
 * What `/metrics` serves: the process metrics (prom-client defaults, shared per process)
 * followed by this instance's registry (broker, store, SLO, logs, resilience), in the
 * Prometheus text format 0.0.4.
 */
import { Registry } from 'prom-client';
import { processRegistry } from './process-metrics.js';
import { scrapeGauge } from './scrape-metrics.js';

export class MetricsExporter {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  constructor(opts: { version: string; includeProcessMetrics?: boolean }) {
    this.includeProcess = opts.includeProcessMetrics ?? true;
    scrapeGauge(this.registry, {
      name: 'holdfast_build_info',
      help: 'Always 1; the version is a label.',
      labelNames: ['version'],
      read: () => [[{ version: opts.version }, 1]],
    });
  }

  private readonly includeProcess: boolean;

  async text(): Promise<string> {
    const own = await this.registry.metrics();
    if (!this.includeProcess) return own;
    return `${await processRegistry().metrics()}\n${own}`;
  }
}
