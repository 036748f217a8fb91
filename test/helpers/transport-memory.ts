/**
 * Memory measurement for the bounded-memory tests: a forced full GC (so the baseline is
 * not inflated by garbage) and a sampler that records the peak of RSS and of the memory
 * that grows with buffered data (JS heap + Buffers outside the heap) during a run.
 *
 * With `live: true` every sample is taken right after a full GC, so the data peak is the
 * peak of memory actually retained (what a buffering broker would grow), not of garbage
 * that the collector had not got to yet; RSS is sampled as the OS sees it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as (() => void) | undefined;

export function forceGc(passes = 2): void {
  if (typeof gcFn !== 'function') throw new Error('gc() is not available: cannot measure retained memory');
  for (let i = 0; i < passes; i++) gcFn();
}

export interface MemoryPeak {
  baselineRss: number;
  baselineData: number;
  peakRss: number;
  peakData: number;
  /** Peak minus baseline, bytes. */
  rssGrowth: number;
  dataGrowth: number;
  samples: number;
}

/** heapUsed + external: everything a broker that buffers would grow (Buffers live in external). */
function dataBytes(m: NodeJS.MemoryUsage): number {
  return m.heapUsed + m.external;
}

export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly peak: MemoryPeak;

  constructor(private readonly opts: { live?: boolean } = {}) {
    forceGc();
    const m = process.memoryUsage();
    this.peak = {
      baselineRss: m.rss,
      baselineData: dataBytes(m),
      peakRss: m.rss,
      peakData: dataBytes(m),
      rssGrowth: 0,
      dataGrowth: 0,
      samples: 0,
    };
  }

  /** Samples every `intervalMs` until stop(). */
  start(intervalMs = this.opts.live ? 100 : 20): this {
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  sample(): void {
    // Two passes: a full GC finishes the previous one's (concurrent) freeing of Buffer memory first.
    if (this.opts.live) forceGc(2);
    const m = process.memoryUsage();
    const p = this.peak;
    p.samples++;
    if (m.rss > p.peakRss) p.peakRss = m.rss;
    const d = dataBytes(m);
    if (d > p.peakData) p.peakData = d;
  }

  stop(): MemoryPeak {
    clearInterval(this.timer);
    this.sample();
    const p = this.peak;
    p.rssGrowth = p.peakRss - p.baselineRss;
    p.dataGrowth = p.peakData - p.baselineData;
    return { ...p };
  }
}

export const MiB = 1024 * 1024;
