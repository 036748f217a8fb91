/**
 * `holdfast slo [--url URL | --http-port N] [--json]`: asks a running holdfast for its SLO
 * status (GET /api/slo) and prints each SLO's remaining error budget, burn rates per
 * window and alert states. Exit code 0 when no alert fires, 2 when one does, 1 when the
 * server cannot be asked.
 */
import { parseArgs } from 'node:util';
import type { SloStatus } from '../../observability/slo/spec.js';
import { windowLabel } from '../../observability/slo/slo-metrics.js';
import { usageErrorFrom, type CliIO } from './io.js';
import { SLO_USAGE } from './usage.js';

const pct = (x: number, digits = 3): string => `${(x * 100).toFixed(digits).replace(/\.?0+$/, '')}%`;

export function formatSloStatus(slos: SloStatus[]): string {
  const out: string[] = [];
  for (const s of slos) {
    out.push(`${s.name}: ${s.description}`);
    out.push(
      `  objective ${pct(s.objective, 4)} over ${windowLabel(s.windowS)}; error budget left ${pct(s.errorBudgetRemaining, 1)}` +
        ` (${fmt(s.bad)} bad of ${fmt(s.allowedBad)} allowed, ${fmt(s.good + s.bad)} events)`,
    );
    out.push(`  burn rate  ${s.windows.map((w) => `${windowLabel(w.windowS)} ${w.burnRate.toFixed(2)}x`).join('  ')}`);
    for (const a of s.alerts) {
      const since = a.since === undefined ? '' : ` since ${new Date(a.since).toISOString()}`;
      out.push(
        `  ${a.firing ? 'FIRING' : 'ok    '} ${a.name} (${a.severity}: >= ${a.burnRateThreshold}x over ${windowLabel(a.longWindowS)} and ${windowLabel(a.shortWindowS)})${since}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export async function sloCommand(args: string[], io: CliIO): Promise<number> {
  let url: string;
  let json = false;
  try {
    const parsed = parseArgs({
      args,
      options: { url: { type: 'string' }, 'http-port': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (parsed.values.help === true) {
      io.stdout.write(SLO_USAGE);
      return 0;
    }
    json = parsed.values.json === true;
    const port = parsed.values['http-port'] ?? io.env.HOLDFAST_HTTP_PORT ?? '8080';
    if (!/^\d+$/.test(port)) throw new Error(`--http-port needs a port number, got "${port}"`);
    url = (parsed.values.url ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  } catch (err) {
    const usage = usageErrorFrom(err, 'slo');
    io.stderr.write(`holdfast: ${usage?.message ?? (err as Error).message}\n`);
    return 1;
  }
  let body: { slos: SloStatus[] };
  try {
    const res = await fetch(`${url}/api/slo`, { signal: AbortSignal.timeout(5_000) });
    if (res.status === 404) throw new Error('the SLO engine is disabled on that server (slo.enabled: false)');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as { slos: SloStatus[] };
  } catch (err) {
    io.stderr.write(`holdfast: cannot read ${url}/api/slo: ${(err as Error).message}\n`);
    return 1;
  }
  io.stdout.write(json ? `${JSON.stringify(body)}\n` : formatSloStatus(body.slos));
  return body.slos.some((s) => s.alerts.some((a) => a.firing)) ? 2 : 0;
}
