/** `holdfast config check FILE`: validate a file (and read the TLS files it names). */
import { parseArgs } from 'node:util';
import { loadConfig, toRuntimeConfig } from '../config/index.js';
import { formatStartupError } from '../startup-errors.js';
import { CONFIG_USAGE } from './usage.js';
import { usageErrorFrom, type CliIO } from './io.js';

export async function configCommand(args: string[], io: CliIO): Promise<number> {
  let positionals: string[];
  try {
    const parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (parsed.values.help === true) {
      io.stdout.write(CONFIG_USAGE);
      return 0;
    }
    positionals = parsed.positionals;
  } catch (err) {
    const usage = usageErrorFrom(err, 'config');
    if (usage === undefined) throw err;
    io.stderr.write(`holdfast: ${usage.message}\n`);
    return 1;
  }
  const [sub, file, ...rest] = positionals;
  if (sub !== 'check' || file === undefined || rest.length > 0) {
    io.stderr.write(`holdfast: expected 'holdfast config check FILE' (see holdfast config --help)\n`);
    return 1;
  }
  try {
    const { config } = await loadConfig({ file, env: {} });
    await toRuntimeConfig(config, io.cwd);
    io.stdout.write(`${file}: ok\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`${formatStartupError(err)}\n`);
    return 1;
  }
}
