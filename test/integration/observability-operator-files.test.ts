/**
 * The shipped operator files (deploy/): the Prometheus rules parse, every expression refers
 * only to metrics holdfast exports (read from a live /metrics) or to recording rules of the
 * same file, the burn-rate alerts are the engine's (14.4x 1h/5m, 6x 6h/30m, 1x 3d/6h); and
 * `promtool check rules` / `promtool test rules` pass when promtool is installed (Debian:
 * apt-get install prometheus). The Grafana dashboard parses and uses the same metrics.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunningHoldfast } from '../../src/app/main.js';
import { DEFAULT_BURN_RULES } from '../../src/observability/slo/spec.js';
import { parsePromText } from '../unit/observability/prom-text.js';
import { removeDataDirs, startApp } from './observability-helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const RULES = join(root, 'deploy/prometheus/rules.yaml');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
const rulesDoc = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = rulesDoc.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/holdfast.json'), 'utf8')) as {
  panels: Array<{ type: string; targets?: Array<{ expr: string }> }>;
};

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'label_values', 'abs', 'clamp_min', 'clamp_max',
]);

/** The metric (or recording rule) names an expression selects: identifiers outside strings, label sets, ranges and grouping clauses. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$[a-zA-Z_]+/g, ' ');
  const out = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = stripped.slice(m.index! + word.length).trimStart();
    if (PROMQL_WORDS.has(word) || next.startsWith('(') || /^\d/.test(word)) continue;
    out.add(word);
  }
  return [...out];
}

let app: RunningHoldfast & { base: string };
let exported: Set<string>;
beforeAll(async () => {
  app = await startApp();
  const text = await (await fetch(`${app.base}/metrics`)).text();
  // Every family /metrics declares (a labelled counter has no sample before its first event).
  const prom = parsePromText(text);
  exported = new Set<string>();
  for (const [name, type] of prom.types) {
    exported.add(name);
    if (type === 'histogram') for (const x of ['_bucket', '_sum', '_count']) exported.add(`${name}${x}`);
  }
});
afterAll(async () => {
  await app?.stop();
  removeDataDirs();
});

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('deploy/prometheus/rules.yaml', () => {
  it('every expression refers only to exported metrics or to recording rules of the file', () => {
    const recorded = new Set(rules.filter((r) => r.record !== undefined).map((r) => r.record!));
    expect(recorded.size).toBeGreaterThan(5);
    for (const r of rules) {
      const names = metricNames(r.expr);
      expect(names.length, `${r.record ?? r.alert} selects something`).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n) || recorded.has(n), `${r.record ?? r.alert}: ${n}`).toBe(true);
    }
  });

  it('has the engine burn-rate alerts: same factors and windows, severity page / ticket', () => {
    const burn = rules.filter((r) => r.alert?.startsWith('HoldfastErrorBudget'));
    expect(burn).toHaveLength(DEFAULT_BURN_RULES.length);
    const fmt = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`);
    for (const rule of DEFAULT_BURN_RULES) {
      const a = burn.find((r) => r.labels?.long_window === fmt(rule.longWindowMs) && r.labels?.short_window === fmt(rule.shortWindowMs));
      expect(a, rule.name).toBeDefined();
      expect(Number(a!.labels!.burn_rate)).toBe(rule.burnRate);
      expect(a!.labels!.severity).toBe(rule.severity);
      expect(a!.expr).toContain(`holdfast:slo_errors:ratio_rate${fmt(rule.longWindowMs)} >= on (slo) (${rule.burnRate} *`);
      expect(a!.expr).toContain(`holdfast:slo_errors:ratio_rate${fmt(rule.shortWindowMs)} >= on (slo) (${rule.burnRate} *`);
    }
  });

  it.runIf(hasPromtool())('promtool check rules and promtool test rules pass', () => {
    expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toMatch(/SUCCESS/);
    expect(execFileSync('promtool', ['test', 'rules', join(root, 'deploy/prometheus/rules.test.yaml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  });
});

describe('deploy/grafana/holdfast.json', () => {
  it('parses; every panel query refers only to exported metrics or recording rules', () => {
    const recorded = new Set(rules.filter((r) => r.record !== undefined).map((r) => r.record!));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(15);
    for (const e of exprs) for (const n of metricNames(e)) expect(exported.has(n) || recorded.has(n), `${e}: ${n}`).toBe(true);
    // The golden signals and the budget are all there.
    const all = exprs.join('\n');
    for (const m of ['holdfast_messages_published_total', 'holdfast_messages_dropped_total', 'holdfast_publish_to_deliver_seconds_bucket', 'holdfast_connections', 'holdfast_slo_error_budget_remaining_ratio', 'holdfast_slo_burn_rate']) {
      expect(all).toContain(m);
    }
  });
});
