/**
 * What an SLO is here: a ratio of good events to all events (from counters the broker
 * keeps), an objective (0.9999), and a window for the error budget (30 days); plus the
 * multi-window burn-rate alert rules of the Google SRE workbook (chapter 5, "Alerting on
 * SLOs"): an alert fires when the burn rate (error ratio / allowed error ratio) is at or
 * above its factor over both a long and a short window, and resolves when either drops
 * below it.
 */
export interface SliReading {
  /** Cumulative good events since the source started. */
  good: number;
  /** Cumulative events (good + bad) since the source started. */
  total: number;
}

export interface SloDefinition {
  name: string;
  description: string;
  /** Target ratio of good events, e.g. 0.9999. */
  objective: number;
  /** Error budget window. */
  windowMs: number;
  /** Read at every evaluation; the engine works on the increments. */
  read: () => SliReading;
}

export type AlertSeverity = 'page' | 'ticket';

export interface BurnRateRule {
  name: string;
  severity: AlertSeverity;
  /** Burn-rate factor: 1 = spending the budget exactly over the SLO window. */
  burnRate: number;
  longWindowMs: number;
  shortWindowMs: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** 2% of a 30-day budget in 1 h (14.4x), 5% in 6 h (6x), 10% in 3 d (1x). */
export const DEFAULT_BURN_RULES: readonly BurnRateRule[] = [
  { name: 'fast-burn', severity: 'page', burnRate: 14.4, longWindowMs: HOUR, shortWindowMs: 5 * MIN },
  { name: 'medium-burn', severity: 'page', burnRate: 6, longWindowMs: 6 * HOUR, shortWindowMs: 30 * MIN },
  { name: 'slow-burn', severity: 'ticket', burnRate: 1, longWindowMs: 3 * DAY, shortWindowMs: 6 * HOUR },
];

export const DEFAULT_SLO_WINDOW_MS = 30 * DAY;

export interface AlertEvent {
  slo: string;
  alert: string;
  severity: AlertSeverity;
  state: 'firing' | 'resolved';
  /** ms since the epoch of the evaluation that changed the state. */
  at: number;
  burnRateThreshold: number;
  longWindowS: number;
  shortWindowS: number;
  longBurnRate: number;
  shortBurnRate: number;
  errorBudgetRemaining: number;
}

export interface WindowStatus {
  windowS: number;
  good: number;
  bad: number;
  errorRatio: number;
  burnRate: number;
}

export interface AlertStatus {
  name: string;
  severity: AlertSeverity;
  burnRateThreshold: number;
  longWindowS: number;
  shortWindowS: number;
  firing: boolean;
  /** ms since the epoch of the last state change; undefined if it never fired. */
  since: number | undefined;
}

export interface SloStatus {
  name: string;
  description: string;
  objective: number;
  windowS: number;
  /** Over the SLO window. */
  good: number;
  bad: number;
  /** Bad events the objective allows over the window so far: total x (1 - objective). */
  allowedBad: number;
  /** 1 = untouched, 0 = spent, negative = overspent. */
  errorBudgetRemaining: number;
  windows: WindowStatus[];
  alerts: AlertStatus[];
}
