/**
 * prom-client metrics whose values are read at scrape time from counters that the
 * broker keeps as plain numbers (collect callbacks), so that the hot path never touches
 * prom-client. Counters are re-set from their source on each scrape; histograms come
 * from the fixed-bucket Histogram of histogram.ts (cumulative `le` buckets, sum, count).
 */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

export type LabelSet = Record<string, string>;
/** A reading: one number (no labels) or [labels, value] pairs. */
export type Reading = number | Iterable<readonly [LabelSet, number]>;

export interface ScrapeMetricDef {
  name: string;
  help: string;
  labelNames?: readonly string[];
  read: () => Reading;
}

function apply(reading: Reading, set: (labels: LabelSet | undefined, v: number) => void): void {
  if (typeof reading === 'number') set(undefined, reading);
  else for (const [labels, v] of reading) set(labels, v);
}

/** A counter whose value is its source's at scrape time (the source only ever grows). */
export function scrapeCounter(registry: Registry, def: ScrapeMetricDef): Counter {
  return new Counter({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      apply(def.read(), (labels, v) => (labels === undefined ? this.inc(Math.max(0, v)) : this.inc(labels, Math.max(0, v))));
    },
  });
}

/** A gauge read at scrape time. */
export function scrapeGauge(registry: Registry, def: ScrapeMetricDef): Gauge {
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      apply(def.read(), (labels, v) => (labels === undefined ? this.set(v) : this.set(labels, v)));
    },
  });
}

/** What a histogram source offers (histogram.ts Histogram has this shape). */
export interface HistogramView {
  readonly bounds: readonly number[];
  readonly sum: number;
  readonly count: number;
  cumulative(): number[];
}

export interface ScrapeHistogramDef {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** One histogram, or one per label set; undefined = no series (e.g. a store without commits). */
  read: () => HistogramView | undefined | Iterable<readonly [LabelSet, HistogramView]>;
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

function isView(x: unknown): x is HistogramView {
  return typeof x === 'object' && x !== null && 'bounds' in x && 'cumulative' in x;
}

/**
 * A Prometheus histogram exposed from an existing fixed-bucket histogram. prom-client's
 * own Histogram cannot be set from outside, so this is a metric object of the shape the
 * registry expects (name, help, type, get()).
 */
export function scrapeHistogram(registry: Registry, def: ScrapeHistogramDef): void {
  const metric = {
    name: def.name,
    help: def.help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: def.labelNames ?? [],
    async get() {
      const values: Sample[] = [];
      const src = def.read();
      const series: Iterable<readonly [LabelSet, HistogramView]> = src === undefined ? [] : isView(src) ? [[{}, src]] : src;
      for (const [labels, h] of series) {
        const cum = h.cumulative();
        h.bounds.forEach((le, i) => values.push({ metricName: `${def.name}_bucket`, labels: { ...labels, le }, value: cum[i]! }));
        values.push({ metricName: `${def.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
        values.push({ metricName: `${def.name}_sum`, labels, value: h.sum });
        values.push({ metricName: `${def.name}_count`, labels, value: h.count });
      }
      return { name: def.name, help: def.help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {},
  };
  registry.registerMetric(metric as unknown as Metric);
}
