/**
 * A fixed-bucket histogram cheap enough for the hot path: observe() is a short loop over
 * a handful of upper bounds and two additions, no allocation. The metrics exporter turns
 * it into a Prometheus histogram (cumulative buckets, sum, count).
 */
export class Histogram {
  /** counts[i] = observations <= bounds[i] (and > bounds[i-1]); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new RangeError('histogram bounds must increase');
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }

  /** Cumulative counts per bound (Prometheus `le` buckets), +Inf last. */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (const c of this.counts) out.push((acc += c));
    return out;
  }

  /** The smallest bound under which at least `q` of the observations fall (Infinity past the last bound). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i];
      if (acc >= target) return i < this.bounds.length ? this.bounds[i] : Infinity;
    }
    return Infinity;
  }
}

/** Seconds buckets from 0.1 ms to 10 s, for latencies. */
export const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
