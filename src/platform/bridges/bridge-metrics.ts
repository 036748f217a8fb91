/**
 * Prometheus metrics of the bridges, read from status() at scrape time (a handful of
 * sinks: one status() per metric family is cheap). Labels: the sink name (bounded by
 * the config) and, for counters, a fixed set of events.
 */
import type { Registry } from 'prom-client';
import { scrapeCounter, scrapeGauge, type LabelSet } from '../../observability/metrics/scrape-metrics.js';
import type { BridgesStatus, SinkStatus } from './types.js';

type Reading = Array<[LabelSet, number]>;

const EVENTS: ReadonlyArray<[string, keyof SinkStatus['totals']]> = [
  ['enqueued', 'enqueued'],
  ['sent', 'sent'],
  ['acked', 'acked'],
  ['failed', 'failed'],
  ['dead_lettered', 'deadLettered'],
  ['replayed', 'replayed'],
  ['refused', 'refused'],
  ['dropped_qos0', 'droppedQos0'],
  ['dropped_oldest', 'droppedOldest'],
];
const STATES = ['closed', 'open', 'half-open'] as const;

export function registerBridgeMetrics(registry: Registry, bridges: { status(): BridgesStatus }): void {
  const per = (f: (s: SinkStatus) => number): (() => Reading) => () => bridges.status().sinks.map((s) => [{ sink: s.name }, f(s)]);
  scrapeGauge(registry, {
    name: 'holdfast_bridge_outbox_messages',
    help: 'Messages waiting in the outbox of a bridge sink (on disk).',
    labelNames: ['sink'],
    read: per((s) => s.outbox.messages),
  });
  scrapeGauge(registry, {
    name: 'holdfast_bridge_outbox_bytes',
    help: 'Body bytes waiting in the outbox of a bridge sink.',
    labelNames: ['sink'],
    read: per((s) => s.outbox.bytes),
  });
  scrapeGauge(registry, {
    name: 'holdfast_bridge_outbox_oldest_age_seconds',
    help: 'Age of the oldest message waiting for a bridge sink (0 when empty).',
    labelNames: ['sink'],
    read: per((s) => s.outbox.oldestAgeMs / 1000),
  });
  scrapeGauge(registry, {
    name: 'holdfast_bridge_outbox_full',
    help: '1 while the outbox of a bridge sink is at a bound.',
    labelNames: ['sink'],
    read: per((s) => (s.outbox.full ? 1 : 0)),
  });
  scrapeGauge(registry, {
    name: 'holdfast_bridge_dead_letters',
    help: 'Dead letters of a bridge sink in the store.',
    labelNames: ['sink'],
    read: per((s) => s.deadLetters),
  });
  scrapeGauge(registry, {
    name: 'holdfast_bridge_breaker_state',
    help: 'Breaker of a bridge sink (1 for its current state).',
    labelNames: ['sink', 'state'],
    read: () => bridges.status().sinks.flatMap((s) => STATES.map((st): [LabelSet, number] => [{ sink: s.name, state: st }, s.breaker === st ? 1 : 0])),
  });
  scrapeCounter(registry, {
    name: 'holdfast_bridge_messages_total',
    help: 'Bridge messages by event: enqueued, sent (handed to the sink), acked, failed, dead_lettered, replayed, refused (0x97), dropped_qos0, dropped_oldest.',
    labelNames: ['sink', 'event'],
    read: () => bridges.status().sinks.flatMap((s) => EVENTS.map(([event, k]): [LabelSet, number] => [{ sink: s.name, event }, s.totals[k]])),
  });
  scrapeCounter(registry, {
    name: 'holdfast_bridge_batches_total',
    help: 'Batches handed to a bridge sink, by result (failed: the batch failed as a whole).',
    labelNames: ['sink', 'result'],
    read: () =>
      bridges.status().sinks.flatMap((s): Reading => [
        [{ sink: s.name, result: 'answered' }, s.totals.batches - s.totals.batchFailures],
        [{ sink: s.name, result: 'failed' }, s.totals.batchFailures],
      ]),
  });
}
