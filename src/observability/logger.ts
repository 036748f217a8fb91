/**
 * The one logger of holdfast: pino, JSON lines by default (for log pipelines), a compact
 * human-readable line when a person is watching (stdout is a TTY, or `pretty: true`).
 *
 * The human format is a tiny formatter of our own rather than pino-pretty, so that a
 * production install needs no extra dependency and no worker thread.
 */
import { pino } from 'pino';
import type { LogRateLimiter } from './log-rate-limit.js';

export type Logger = pino.Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: string;
  /** Human-readable lines instead of JSON. Default: true when stdout is a TTY. */
  pretty?: boolean;
  /** Where lines go. Default: stdout (synchronous writes, so nothing is lost on exit). */
  destination?: pino.DestinationStream;
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
  /** Per-event-kind rate limiting (log-rate-limit.ts); absent = every line is written. */
  rateLimit?: LogRateLimiter;
}

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  const sink: pino.DestinationStream = opts.destination ?? pino.destination({ fd: 1, sync: true });
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Credentials must never reach a log line, whatever a caller passes in.
      redact: { paths: ['password', 'passwordHash', '*.password', '*.passwordHash'], censor: '[redacted]' },
      ...(opts.rateLimit?.enabled === true ? { hooks: { logMethod: rateLimitedLogMethod(opts.rateLimit) } } : {}),
    },
    pretty ? prettyStream(sink) : sink,
  );
}

const FATAL = 60;

/**
 * pino's logMethod hook: the kind of a line is its `event` field, else its message. Lines
 * over their kind's budget are dropped; see log-rate-limit.ts for what is reported.
 */
function rateLimitedLogMethod(limiter: LogRateLimiter) {
  return function logMethod(this: pino.Logger, args: unknown[], method: (...a: unknown[]) => void, level: number): void {
    if (level >= FATAL) return method.apply(this, args);
    const first = args[0];
    const obj = typeof first === 'object' && first !== null && !(first instanceof Error) ? (first as Record<string, unknown>) : undefined;
    const kind = typeof obj?.event === 'string' ? obj.event : String((obj !== undefined || first instanceof Error ? args[1] : first) ?? '');
    const dropped = limiter.take(kind, this.levels.labels[level] ?? String(level));
    if (dropped < 0) return;
    if (dropped > 0) {
      if (obj !== undefined) args = [{ ...obj, suppressed: dropped }, ...args.slice(1)];
      else if (first instanceof Error) args = [{ err: first, suppressed: dropped }, ...args.slice(1)];
      else args = [{ suppressed: dropped }, ...args];
    }
    method.apply(this, args);
    const summary = limiter.dueSummary();
    if (summary !== undefined) this.warn({ event: 'log-suppressed', suppressed: summary }, 'log lines suppressed (rate limit per kind)');
  };
}

/** Fields that tie a log line to a client, a device and a trace (names used on every line). */
export interface LogContext {
  clientId?: string;
  deviceId?: string;
  traceId?: string;
}

/** A child logger whose lines carry the client / device / trace ids given. */
export function withContext(logger: Logger, ctx: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx)) if (typeof v === 'string') bindings[k] = v;
  return logger.child(bindings);
}

/** A logger that drops everything: for tests and for library use without logging. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turns pino's JSON lines into `12:00:00.123 INFO  message key=value ...`. */
export function prettyStream(out: pino.DestinationStream): pino.DestinationStream {
  return {
    write(line: string): void {
      out.write(formatPrettyLine(line));
    },
  };
}

export function formatPrettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line; // not ours: pass it through untouched
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : '';
  const level = String(rec.level ?? '').toUpperCase().padEnd(5);
  const parts = [time, level, typeof rec.msg === 'string' ? rec.msg : ''];
  let stack = '';
  for (const [key, value] of Object.entries(rec)) {
    if (OMIT.has(key)) continue;
    if (key === 'err' && value !== null && typeof value === 'object' && 'stack' in value) {
      stack = `\n    ${String((value as { stack: unknown }).stack).replace(/\n/g, '\n    ')}`;
      continue;
    }
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return `${parts.filter((p) => p !== '').join(' ')}${stack}\n`;
}
