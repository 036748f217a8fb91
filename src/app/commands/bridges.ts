/**
 * `holdfast bridges status | dead-letters list | dead-letters replay`: the northbound
 * bridges through the admin API (/api/bridges, docs/bridges.md). Exit codes:
 * src/app/api/cli-support.ts.
 */
import type { ApiClient } from '../api/client.js';
import { clientFrom, EXIT, intFrom, parseCommand, printJson, reportFailure, time, UsageFailure } from '../api/cli-support.js';
import type { BridgesView } from '../bridges.js';
import type { DeadLetterView, ReplayResult } from '../../platform/bridges/index.js';
import { table } from './devices.js';
import type { CliIO } from './io.js';
import { BRIDGES_USAGE } from './usage.js';

const OPTIONS = {
  sink: { type: 'string' },
  id: { type: 'string', multiple: true },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
} as const;

type Values = Record<string, unknown> & { json?: boolean };
interface LetterPage {
  items: DeadLetterView[];
  nextCursor?: string;
}

export async function bridgesCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parseCommand(args, OPTIONS, 'bridges');
    const [sub, action, ...rest] = positionals;
    if (values.help === true || sub === undefined || sub === 'help') {
      (sub === undefined && values.help !== true ? io.stderr : io.stdout).write(BRIDGES_USAGE);
      return sub === undefined && values.help !== true ? EXIT.FAILED : EXIT.OK;
    }
    const api = clientFrom(values, io);
    if (sub === 'status') {
      if (action !== undefined) throw new UsageFailure('bridges status takes no arguments');
      return await status(api, values, io);
    }
    if (sub !== 'dead-letters') throw new UsageFailure(`unknown bridges command '${sub}' (see holdfast bridges --help)`);
    if (rest.length > 0) throw new UsageFailure(`bridges dead-letters ${action ?? ''} takes no arguments (use --sink, --id)`);
    if (action === 'list') return await list(api, values, io);
    if (action === 'replay') return await replay(api, values, io);
    throw new UsageFailure(`bridges dead-letters needs list or replay (see holdfast bridges --help)`);
  } catch (err) {
    return reportFailure(err, io, 'bridges');
  }
}

const age = (ms: number): string => (ms === 0 ? '-' : ms < 1000 ? `${ms}ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 60_000)}m`);
const rate = (x: number): string => (x === 0 ? '0' : x < 10 ? x.toFixed(1) : String(Math.round(x)));

async function status(api: ApiClient, values: Values, io: CliIO): Promise<number> {
  const s = await api.request<BridgesView>('GET', '/api/bridges');
  if (values.json === true) {
    printJson(io, s);
    return EXIT.OK;
  }
  io.stdout.write(`instance ${s.instanceId}, ${s.routes} route(s)\n`);
  const rows = s.sinks.map((k) => [
    k.name,
    k.kind,
    k.state,
    k.endpoint === undefined || k.endpoint.breaker === 'closed' ? k.breaker : `${k.breaker} (host ${k.endpoint.breaker})`,
    `${k.outbox.messages}${k.outbox.full ? ' FULL' : ''}`,
    age(k.outbox.oldestAgeMs),
    `${rate(k.rates.ackedPerS)}/${rate(k.rates.failedPerS)}`,
    String(k.deadLetters),
    k.lastError === undefined ? '-' : `${time(k.lastError.at)} ${k.lastError.message}`,
  ]);
  io.stdout.write(table(['SINK', 'KIND', 'STATE', 'BREAKER', 'OUTBOX', 'OLDEST', 'ACKED/FAILED PER S', 'DEAD', 'LAST ERROR'], rows));
  if (s.ingress.length > 0) {
    const ing = s.ingress.map((g) => [g.name, g.stream, g.state, String(g.stats.published), String(g.stats.commands), String(g.stats.duplicates), String(g.stats.deadLettered), g.lastError ?? '-']);
    io.stdout.write(table(['INGRESS', 'STREAM', 'STATE', 'PUBLISHED', 'COMMANDS', 'DUPLICATES', 'DEAD', 'LAST ERROR'], ing));
  }
  return EXIT.OK;
}

async function list(api: ApiClient, values: Values, io: CliIO): Promise<number> {
  const limit = Math.min(intFrom(values.limit, 'limit', 1) ?? 100, 1000);
  const all: DeadLetterView[] = [];
  let cursor = values.cursor as string | undefined;
  if (cursor !== undefined && !/^\d+$/.test(cursor)) throw new UsageFailure(`--cursor needs a message id, got "${cursor}"`);
  let next: string | undefined;
  do {
    const q = new URLSearchParams({ limit: String(limit) });
    if (typeof values.sink === 'string') q.set('sink', values.sink);
    if (cursor !== undefined) q.set('cursor', cursor);
    const page = await api.request<LetterPage>('GET', `/api/bridges/dead-letters?${q.toString()}`);
    all.push(...page.items);
    next = page.nextCursor;
    cursor = next;
  } while (values.all === true && next !== undefined);
  if (values.json === true) {
    printJson(io, next === undefined ? { items: all } : { items: all, nextCursor: next });
    return EXIT.OK;
  }
  const rows = all.map((d) => [String(d.messageId), d.sink, d.topic, d.publisherId ?? '-', String(d.attempts), time(d.failedAt), d.error]);
  io.stdout.write(table(['ID', 'SINK', 'TOPIC', 'PUBLISHER', 'ATTEMPTS', 'FAILED AT', 'ERROR'], rows));
  if (next !== undefined) io.stderr.write(`more dead letters: --cursor ${next} (or --all)\n`);
  return EXIT.OK;
}

async function replay(api: ApiClient, values: Values, io: CliIO): Promise<number> {
  const ids = ((values.id as string[] | undefined) ?? []).map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageFailure(`--id needs a message id, got "${s}"`);
    return Number(s);
  });
  const sink = typeof values.sink === 'string' ? values.sink : undefined;
  if (sink === undefined && ids.length === 0) throw new UsageFailure('bridges dead-letters replay needs --sink NAME or --id ID (or both)');
  const limit = intFrom(values.limit, 'limit', 1);
  const r = await api.request<ReplayResult>('POST', '/api/bridges/dead-letters/replay', {
    ...(sink !== undefined ? { sink } : {}),
    ...(ids.length > 0 ? { messageIds: ids } : {}),
    ...(limit !== undefined ? { limit } : {}),
  });
  if (values.json === true) printJson(io, r);
  else {
    const per = Object.entries(r.bySink).map(([k, n]) => `${k}: ${n}`).join(', ');
    io.stdout.write(`replayed ${r.replayed} dead letter(s)${per === '' ? '' : ` (${per})`}\n`);
  }
  return EXIT.OK;
}
