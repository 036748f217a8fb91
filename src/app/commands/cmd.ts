/**
 * `holdfast cmd send <device> <name> [json] [--wait]`, `holdfast cmd get <command-id>`,
 * `holdfast cmd list <device>`: commands (RPC) through the admin API. With --wait, send
 * waits (long-poll, --wait-ms, default 30 s) for the final state: exit 0 acked, 4 failed or
 * expired, 5 not final yet. Exit codes: src/app/api/cli-support.ts.
 */
import type { CommandRecord } from '../../ports/platform-store.js';
import { clientFrom, EXIT, intFrom, jsonFrom, parseCommand, printJson, reportFailure, time, UsageFailure } from '../api/cli-support.js';
import { table } from './devices.js';
import type { CliIO } from './io.js';
import { CMD_USAGE } from './usage.js';

const OPTIONS = {
  wait: { type: 'boolean' },
  'wait-ms': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-attempts': { type: 'string' },
  state: { type: 'string', multiple: true },
  limit: { type: 'string' },
} as const;

const FINAL = new Set(['acked', 'failed', 'expired']);

export async function cmdCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parseCommand(args, OPTIONS, 'cmd');
    const [sub, ...rest] = positionals;
    if (values.help === true || sub === undefined || sub === 'help') {
      (sub === undefined && values.help !== true ? io.stderr : io.stdout).write(CMD_USAGE);
      return sub === undefined && values.help !== true ? EXIT.FAILED : EXIT.OK;
    }
    const api = clientFrom(values, io);
    const waitMs = values.wait === true || values['wait-ms'] !== undefined ? (intFrom(values['wait-ms'], 'wait-ms') ?? 30_000) : undefined;
    switch (sub) {
      case 'send': {
        const [device, name, payloadText, ...extra] = rest;
        if (device === undefined || name === undefined || extra.length > 0) throw new UsageFailure('cmd send needs <device> <name> [json]');
        const timeoutMs = intFrom(values['timeout-ms'], 'timeout-ms', 1);
        const maxAttempts = intFrom(values['max-attempts'], 'max-attempts', 1);
        const c = await api.sendCommand(
          device,
          {
            name,
            ...(payloadText === undefined ? {} : { payload: jsonFrom(payloadText, 'the payload') }),
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
            ...(maxAttempts === undefined ? {} : { maxAttempts }),
          },
          waitMs,
        );
        return done(c, waitMs !== undefined, values.json === true, io);
      }
      case 'get': {
        if (rest.length !== 1) throw new UsageFailure('cmd get needs one command id');
        return done(await api.getCommand(rest[0]!, waitMs), waitMs !== undefined, values.json === true, io);
      }
      case 'list': {
        if (rest.length !== 1) throw new UsageFailure('cmd list needs one device id');
        const p = new URLSearchParams();
        for (const s of (values.state as string[] | undefined) ?? []) p.append('state', s);
        p.set('limit', String(intFrom(values.limit, 'limit', 1) ?? 100));
        const r = await api.request<{ items: CommandRecord[] }>('GET', `/api/devices/${encodeURIComponent(rest[0]!)}/commands?${p}`);
        if (values.json === true) printJson(io, r);
        else io.stdout.write(table(['ID', 'SEQ', 'NAME', 'STATE', 'ATTEMPTS', 'CREATED'], r.items.map((c) => [c.id, String(c.seq), c.name, c.state, `${c.attempts}/${c.maxAttempts}`, time(c.createdAt)])));
        return EXIT.OK;
      }
      default:
        throw new UsageFailure(`unknown cmd command '${sub}' (see holdfast cmd --help)`);
    }
  } catch (err) {
    return reportFailure(err, io, 'cmd');
  }
}

function done(c: CommandRecord, waited: boolean, json: boolean, io: CliIO): number {
  if (json) printJson(io, c);
  else {
    io.stdout.write(`command ${c.id} (${c.name} to ${c.deviceId}, #${c.seq}): ${c.state}${c.attempts > 0 ? ` after ${c.attempts} attempt(s)` : ''}\n`);
    if (c.state === 'acked' && c.result !== undefined) io.stdout.write(`result: ${JSON.stringify(c.result)}\n`);
    if (c.error !== undefined) io.stdout.write(`error: ${c.error}\n`);
    if (waited && !FINAL.has(c.state)) io.stdout.write(`not final yet (deadline ${time(c.deadlineAt)}): holdfast cmd get ${c.id} --wait\n`);
  }
  if (!waited) return EXIT.OK;
  if (c.state === 'acked') return EXIT.OK;
  return FINAL.has(c.state) ? EXIT.COMMAND_FAILED : EXIT.COMMAND_PENDING;
}
