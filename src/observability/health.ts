/**
 * A small registry of health checks, reported in the "Health Check Response Format for
 * HTTP APIs" (draft-inadarei-api-health-check, media type application/health+json):
 * `{ status: pass|warn|fail, checks: { "component:measurement": [ {status, ...} ] } }`.
 *
 * Each check runs with a deadline; a check that throws or misses it reports `fail`
 * instead of hanging the endpoint. The overall status is the worst check status.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type HealthStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  status: HealthStatus;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  componentType?: string;
  output?: string;
}

export type HealthCheck = (signal: AbortSignal) => CheckResult | Promise<CheckResult>;

export interface CheckOptions {
  /**
   * An optional dependency (a bridge, a tracing collector...): its `fail` is reported as
   * `warn`, so that it shows on /healthz without failing the whole service.
   */
  optional?: boolean;
}

export interface HealthReport {
  status: HealthStatus;
  serviceId?: string;
  version?: string;
  description?: string;
  checks: Record<string, Array<CheckResult & { time: string }>>;
}

export interface HealthRegistryOptions {
  /** Deadline for one check. */
  checkTimeoutMs?: number;
  serviceId?: string;
  version?: string;
  description?: string;
}

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };
const KEY = /^[^:\s]+:[^:\s]+$/;

export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'pass';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly optional = new Set<string>();
  private readonly timeoutMs: number;

  constructor(private readonly opts: HealthRegistryOptions = {}) {
    this.timeoutMs = opts.checkTimeoutMs ?? 2_000;
  }

  /** Registers a check under `component:measurement`; returns a function that removes it. */
  register(key: string, check: HealthCheck, opts: CheckOptions = {}): () => void {
    if (!KEY.test(key)) throw new TypeError(`health check key must look like component:measurement, got "${key}"`);
    if (this.checks.has(key)) throw new TypeError(`health check "${key}" is already registered`);
    this.checks.set(key, check);
    if (opts.optional === true) this.optional.add(key);
    return () => {
      if (this.checks.get(key) === check) {
        this.checks.delete(key);
        this.optional.delete(key);
      }
    };
  }

  keys(): string[] {
    return [...this.checks.keys()];
  }

  async run(): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([key, check]) => {
        const r = await this.runOne(check);
        // A failing optional dependency degrades the service, it does not fail it.
        const result = r.status === 'fail' && this.optional.has(key) ? { ...r, status: 'warn' as const, output: `optional dependency failing: ${r.output ?? 'fail'}` } : r;
        return [key, result] as const;
      }),
    );
    const checks: HealthReport['checks'] = {};
    for (const [key, result] of entries) checks[key] = [{ ...result, time: new Date().toISOString() }];
    return {
      status: worstStatus(entries.map(([, r]) => r.status)),
      ...(this.opts.serviceId !== undefined ? { serviceId: this.opts.serviceId } : {}),
      ...(this.opts.version !== undefined ? { version: this.opts.version } : {}),
      ...(this.opts.description !== undefined ? { description: this.opts.description } : {}),
      checks,
    };
  }

  private async runOne(check: HealthCheck): Promise<CheckResult> {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => {
        ac.abort(new Error('health check deadline'));
        resolve({ status: 'fail', output: `no answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(() => check(ac.signal)), deadline]);
    } catch (err) {
      return { status: 'fail', output: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface EventLoopDelayCheck {
  check: HealthCheck;
  stop(): void;
}

/**
 * `eventloop:delay`: the 99th percentile event-loop delay (ms) since the previous run of the
 * check. A process that cannot keep its event loop moving serves nobody well.
 */
export function eventLoopDelayCheck(opts: { warnMs?: number; failMs?: number } = {}): EventLoopDelayCheck {
  const warnMs = opts.warnMs ?? 200;
  const failMs = opts.failMs ?? 1_000;
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    check: () => {
      const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
      histogram.reset();
      const status: HealthStatus = p99 >= failMs ? 'fail' : p99 >= warnMs ? 'warn' : 'pass';
      return { status, componentType: 'system', observedValue: Math.round(p99 * 10) / 10, observedUnit: 'ms' };
    },
    stop: () => histogram.disable(),
  };
}

/** The report as a few lines for a person (`/healthz?verbose`): one line per check. */
export function formatHealthText(report: HealthReport): string {
  const mark: Record<HealthStatus, string> = { pass: '[+]', warn: '[!]', fail: '[-]' };
  const lines = Object.entries(report.checks).map(([key, [r]]) => {
    const value = r!.observedValue !== undefined ? ` ${String(r!.observedValue)}${r!.observedUnit !== undefined ? ` ${r!.observedUnit}` : ''}` : '';
    return `${mark[r!.status]} ${key} ${r!.status}${value}${r!.output !== undefined ? ` (${r!.output})` : ''}`;
  });
  return `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}${report.serviceId ?? 'service'} ${report.status}\n`;
}
