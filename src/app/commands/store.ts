/** `holdfast store verify [--data-dir DIR]`: check a data dir's store without changing it. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyStore } from '../../adapters/persistence/sqlite/index.js';
import { storeFile } from '../store.js';
import { usageErrorFrom, type CliIO } from './io.js';
import { STORE_USAGE } from './usage.js';

export async function storeCommand(args: string[], io: CliIO): Promise<number> {
  let dataDir: string | undefined;
  let sub: string | undefined;
  let json = false;
  try {
    const parsed = parseArgs({
      args,
      options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.values.help === true) {
      io.stdout.write(STORE_USAGE);
      return 0;
    }
    dataDir = parsed.values['data-dir'];
    json = parsed.values.json === true;
    if (parsed.positionals.length !== 1) throw new Error('expected one subcommand');
    sub = parsed.positionals[0];
  } catch (err) {
    const usage = usageErrorFrom(err, 'store');
    io.stderr.write(`holdfast: ${usage?.message ?? "expected 'holdfast store verify [--data-dir DIR]'"}\n`);
    return 1;
  }
  if (sub !== 'verify') {
    io.stderr.write(`holdfast: unknown store command '${sub}' (see holdfast store --help)\n`);
    return 1;
  }
  const dir = resolve(io.cwd, dataDir ?? io.env.HOLDFAST_DATA_DIR ?? './data');
  const report = verifyStore(storeFile(dir));
  if (json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (report.ok) {
    const counts = Object.entries(report.counts).map(([t, n]) => `${t} ${n}`).join(', ');
    io.stdout.write(`${report.file}: ok (schema ${report.schemaVersion}; ${counts})\n`);
  } else {
    io.stderr.write(`${report.file}: ${report.problems.length} problem(s)\n${report.problems.map((p) => `  ${p}`).join('\n')}\n`);
  }
  return report.ok ? 0 : 1;
}
