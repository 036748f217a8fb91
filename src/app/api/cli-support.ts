/**
 * What the API commands of the CLI share (`devices`, `shadow`, `cmd`, `simulate`): the
 * --url / --token / --json options with their environment twins, the exit codes, and one
 * line per failure on stderr.
 *
 * Exit codes (docs/api.md):
 *   0  done (cmd send --wait: the command was acked)
 *   1  usage error, or the server could not be reached or failed (5xx)
 *   2  the API refused the request (4xx: INVALID_INPUT, DEVICE_NOT_FOUND, DEVICE_EXISTS...)
 *   3  not authorized (401 UNAUTHORIZED: no/unknown token; 403 FORBIDDEN: a read token)
 *   4  cmd send --wait: the command ended failed or expired
 *   5  cmd send --wait: the command was not final when the wait ended
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIO } from '../commands/io.js';
import { usageErrorFrom } from '../commands/io.js';
import { ApiCallError, ApiClient, DEFAULT_API_URL } from './client.js';

export const EXIT = { OK: 0, FAILED: 1, REFUSED: 2, UNAUTHORIZED: 3, COMMAND_FAILED: 4, COMMAND_PENDING: 5 } as const;

export const COMMON_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export interface ParsedCommand<V> {
  values: V & { url?: string; token?: string; json?: boolean; help?: boolean };
  positionals: string[];
}

/** parseArgs with the common options; throws UsageError (via usageErrorFrom) on bad flags. */
export function parseCommand<O extends ParseArgsConfig['options']>(args: string[], options: O, command: string): ParsedCommand<Record<string, unknown>> {
  try {
    const parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
    return parsed as unknown as ParsedCommand<Record<string, unknown>>;
  } catch (err) {
    throw usageErrorFrom(err, command) ?? err;
  }
}

/**
 * The server: --url, else HOLDFAST_URL, else http://127.0.0.1:$HOLDFAST_HTTP_PORT (the env
 * twin of `start --http-port`, as `holdfast slo` reads it), else http://127.0.0.1:8080.
 * The token: --token, else HOLDFAST_TOKEN.
 */
export function apiUrlFrom(values: { url?: string }, env: CliIO['env']): string {
  if (values.url !== undefined) return values.url;
  if (env.HOLDFAST_URL !== undefined && env.HOLDFAST_URL !== '') return env.HOLDFAST_URL;
  const port = env.HOLDFAST_HTTP_PORT;
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) throw new UsageFailure(`HOLDFAST_HTTP_PORT needs a port number, got "${port}"`);
    return `http://127.0.0.1:${port}`;
  }
  return DEFAULT_API_URL;
}

export function clientFrom(values: { url?: string; token?: string }, io: CliIO, timeoutMs?: number): ApiClient {
  const baseUrl = apiUrlFrom(values, io.env);
  if (!/^https?:\/\//.test(baseUrl)) throw new UsageFailure(`--url needs an http(s) URL, got "${baseUrl}"`);
  return new ApiClient({ baseUrl, token: values.token ?? io.env.HOLDFAST_TOKEN, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

/** A usage problem found after parsing (a bad value): exit 1 with one line. */
export class UsageFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageFailure';
  }
}

/** Prints the failure and returns its exit code. */
export function reportFailure(err: unknown, io: CliIO, command: string): number {
  if (err instanceof ApiCallError) {
    if (err.status === undefined || err.status >= 500) {
      io.stderr.write(`holdfast ${command}: ${err.message}${err.status === undefined ? '' : ` (${err.code})`}\n`);
      return EXIT.FAILED;
    }
    const details = (err.details ?? []).map((d) => `\n  ${d.path}: ${d.problem}`).join('');
    io.stderr.write(`holdfast ${command}: ${err.code}: ${err.message}${details}\n`);
    if (err.status === 401 || err.status === 403) {
      if (err.status === 401) io.stderr.write('  (give --token TOKEN or set HOLDFAST_TOKEN; tokens are in http.tokens of the config)\n');
      return EXIT.UNAUTHORIZED;
    }
    return EXIT.REFUSED;
  }
  const e = err as { name?: string; message?: string };
  if (e.name === 'UsageError' || e.name === 'UsageFailure') {
    io.stderr.write(`holdfast: ${e.message}\n`);
    return EXIT.FAILED;
  }
  io.stderr.write(`holdfast ${command}: ${e.message ?? String(err)}\n`);
  return EXIT.FAILED;
}

/** `--label k=v` (repeatable) as a record. */
export function labelsFrom(values: unknown): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of values as string[]) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageFailure(`--label needs key=value, got "${pair}"`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

export function intFrom(value: unknown, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^\d+$/.test(s) || Number(s) < min) throw new UsageFailure(`--${flag} needs an integer >= ${min}, got "${s}"`);
  return Number(s);
}

export function jsonFrom(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageFailure(`${what} is not valid JSON: ${text}`);
  }
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const time = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
