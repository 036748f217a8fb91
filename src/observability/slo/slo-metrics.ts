/**
 * The SLO engine's view in Prometheus: the SLI events themselves (so that the shipped
 * recording rules and burn-rate alerts compute the same numbers in PromQL), the objective,
 * the remaining error budget, burn rates per window and alert states.
 */
import type { Registry } from 'prom-client';
import { scrapeCounter, scrapeGauge, type LabelSet } from '../metrics/scrape-metrics.js';
import type { SloEngine } from './engine.js';
import type { SloDefinition } from './spec.js';

/** `fixed`: the SLOs to report; the engine's definitions when omitted (they follow a reload: SloEngine.reconfigure). */
export function registerSloMetrics(registry: Registry, engine: SloEngine, fixed?: readonly SloDefinition[]): void {
  const defs = (): readonly SloDefinition[] => fixed ?? engine.definitions;
  scrapeCounter(registry, {
    name: 'holdfast_slo_events_total',
    help: 'Events counted by each SLO, by outcome (good / bad) since the process started.',
    labelNames: ['slo', 'outcome'],
    read: () =>
      defs().flatMap((s) => {
        const r = s.read();
        return [
          [{ slo: s.name, outcome: 'good' }, r.good],
          [{ slo: s.name, outcome: 'bad' }, Math.max(0, r.total - r.good)],
        ] as Array<[LabelSet, number]>;
      }),
  });
  scrapeGauge(registry, {
    name: 'holdfast_slo_objective_ratio',
    help: 'Target ratio of good events.',
    labelNames: ['slo'],
    read: () => defs().map((s) => [{ slo: s.name }, s.objective] as [LabelSet, number]),
  });
  scrapeGauge(registry, {
    name: 'holdfast_slo_error_budget_remaining_ratio',
    help: 'Error budget left over the SLO window: 1 untouched, 0 spent, below 0 overspent.',
    labelNames: ['slo'],
    read: () => engine.status().map((s) => [{ slo: s.name }, s.errorBudgetRemaining] as [LabelSet, number]),
  });
  scrapeGauge(registry, {
    name: 'holdfast_slo_burn_rate',
    help: 'Error ratio over the window divided by the allowed error ratio.',
    labelNames: ['slo', 'window'],
    read: () => engine.status().flatMap((s) => s.windows.map((w) => [{ slo: s.name, window: windowLabel(w.windowS) }, w.burnRate] as [LabelSet, number])),
  });
  scrapeGauge(registry, {
    name: 'holdfast_slo_alert_firing',
    help: '1 while the burn-rate alert fires.',
    labelNames: ['slo', 'alert', 'severity'],
    read: () =>
      engine.status().flatMap((s) => s.alerts.map((a) => [{ slo: s.name, alert: a.name, severity: a.severity }, a.firing ? 1 : 0] as [LabelSet, number])),
  });
}

/** 300 -> "5m", 3600 -> "1h", 259200 -> "3d". */
export function windowLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
