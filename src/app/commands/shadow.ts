/**
 * `holdfast shadow get <device>` and `holdfast shadow set <device> <json> [--version N]`:
 * a device's shadow through the admin API. `set` merges the JSON object into desired
 * (null deletes a key); the device gets the delta. Exit codes: src/app/api/cli-support.ts.
 */
import type { ShadowDocument } from '../../platform/contracts.js';
import { clientFrom, EXIT, intFrom, jsonFrom, parseCommand, printJson, reportFailure, time, UsageFailure } from '../api/cli-support.js';
import type { CliIO } from './io.js';
import { SHADOW_USAGE } from './usage.js';

export async function shadowCommand(args: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parseCommand(args, { version: { type: 'string' } }, 'shadow');
    const [sub, id, doc, ...extra] = positionals;
    if (values.help === true || sub === undefined || sub === 'help') {
      (sub === undefined && values.help !== true ? io.stderr : io.stdout).write(SHADOW_USAGE);
      return sub === undefined && values.help !== true ? EXIT.FAILED : EXIT.OK;
    }
    const api = clientFrom(values, io);
    if (sub === 'get') {
      if (id === undefined || doc !== undefined) throw new UsageFailure('shadow get needs one device id');
      const s = await api.getShadow(id);
      if (values.json === true) printJson(io, s);
      else io.stdout.write(formatShadow(s));
      return EXIT.OK;
    }
    if (sub === 'set') {
      if (id === undefined || doc === undefined || extra.length > 0) throw new UsageFailure("shadow set needs a device id and a JSON object, e.g. '{\"interval\": 30}'");
      const desired = jsonFrom(doc, 'the desired document');
      if (desired === null || typeof desired !== 'object' || Array.isArray(desired)) throw new UsageFailure('the desired document must be a JSON object');
      const s = await api.updateDesired(id, desired as Record<string, unknown>, intFrom(values.version, 'version'));
      if (values.json === true) printJson(io, s);
      else io.stdout.write(formatShadow(s));
      return EXIT.OK;
    }
    throw new UsageFailure(`unknown shadow command '${sub}' (see holdfast shadow --help)`);
  } catch (err) {
    return reportFailure(err, io, 'shadow');
  }
}

export function formatShadow(s: ShadowDocument): string {
  const block = (o: Record<string, unknown>): string => (Object.keys(o).length === 0 ? '{}' : JSON.stringify(o, null, 2).replace(/\n/g, '\n  '));
  return [
    `device:   ${s.deviceId}`,
    `version:  ${s.version}   updated ${time(s.updatedAt)}`,
    `desired:  ${block(s.desired)}`,
    `reported: ${block(s.reported)}`,
    `delta:    ${block(s.delta)}${Object.keys(s.delta).length === 0 ? '   (in sync)' : ''}`,
    '',
  ].join('\n');
}
