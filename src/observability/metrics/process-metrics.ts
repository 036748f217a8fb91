/**
 * prom-client's default metrics (event-loop lag, GC pauses by kind, heap and its spaces,
 * RSS, CPU, open handles, process start time) in one registry per process: they observe
 * process-wide things (a perf_hooks histogram, a GC observer), so they are set up once and
 * shared by every metrics exporter in the process.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

export function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({
      register: shared,
      eventLoopMonitoringPrecision: 20,
      // GC pauses: minor GCs are sub-millisecond, major ones can reach 100s of ms.
      gcDurationBuckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
  }
  return shared;
}
