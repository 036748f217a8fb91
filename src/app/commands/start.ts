/** `holdfast start`: load the config, start everything, run until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { createLogger } from '../../observability/logger.js';
import { loadConfig, TWINS, type FlagValues, type HoldfastConfig } from '../config/index.js';
import { handleShutdownSignals } from '../signals.js';
import { formatStartupError, type ConfiguredPorts } from '../startup-errors.js';
import { START_USAGE } from './usage.js';
import { usageErrorFrom, type CliIO } from './io.js';

const portOf = (p: number | null | false): number | null => (p === false ? null : p);

function configuredPorts(config: HoldfastConfig): ConfiguredPorts {
  const l = config.listeners;
  return { mqtt: portOf(l.mqtt.port), ws: portOf(l.ws.port), tls: portOf(l.tls.port), http: portOf(config.http.port) };
}

export async function startCommand(args: string[], io: CliIO): Promise<number> {
  let flags: FlagValues;
  try {
    const options = Object.fromEntries(TWINS.map((t) => [t.flag, { type: 'string' as const }]));
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (parsed.values.help === true) {
      io.stdout.write(START_USAGE);
      return 0;
    }
    flags = parsed.values as FlagValues;
  } catch (err) {
    const usage = usageErrorFrom(err, 'start');
    if (usage === undefined) throw err;
    io.stderr.write(`holdfast: ${usage.message}\n`);
    return 1;
  }

  let config: HoldfastConfig;
  try {
    config = (await loadConfig({ env: io.env, flags })).config;
  } catch (err) {
    io.stderr.write(`${formatStartupError(err)}\n`);
    return 1;
  }
  const ports = configuredPorts(config);
  const logger = createLogger({ level: config.log.level, ...(config.log.format === 'auto' ? {} : { pretty: config.log.format === 'pretty' }) });
  // Imported only now: --help, passwd and config check must not load the whole broker.
  const { startFromConfig } = await import('../main.js');

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      resolve(code);
    };
    const starting = startFromConfig(config, { cwd: io.cwd, logger });
    // Installed before anything listens: a SIGTERM that arrives while starting (even right
    // after the "listening" line) waits for the start to finish and then stops gracefully.
    const remove = handleShutdownSignals({
      source: io.signals,
      stop: async () => (await starting).stop(),
      timeoutMs: config.shutdown.timeoutMs,
      logger,
      exit: finish,
    });
    starting.catch((err: unknown) => {
      remove();
      io.stderr.write(`${formatStartupError(err, ports)}\n`);
      finish(1);
    });
  });
}
