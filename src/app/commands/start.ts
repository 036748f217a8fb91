/** `holdfast start`: load the config, start everything, run until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { HoldfastError } from '../../errors/index.js';
import { createLogger } from '../../observability/logger.js';
import { configFileFrom, loadConfig, TWINS, type FlagValues, type HoldfastConfig } from '../config/index.js';
import { handleShutdownSignals } from '../signals.js';
import { handleReloadSignal, type ReloadSignalSource } from '../reload/sighup.js';
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
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' }, supervise: { type: 'boolean' } }, strict: true, allowPositionals: false });
    if (parsed.values.help === true) {
      io.stdout.write(START_USAGE);
      return 0;
    }
    const { supervise, help: _help, ...rest } = parsed.values;
    if (supervise === true) {
      // Issue 8: a supervisor process that restarts the broker (the same command without --supervise) when it crashes.
      const { superviseCommand } = await import('../lifecycle/supervisor.js');
      return superviseCommand(args.filter((a) => a !== '--supervise'), io);
    }
    flags = rest as FlagValues;
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
  const { serve } = await import('../lifecycle/serve.js');

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      resolve(code);
    };
    // A hot reload (SIGHUP, file change, POST /api/config/reload) reads the same sources again.
    const reload = { file: configFileFrom(flags, io.env), load: async () => (await loadConfig({ env: io.env, flags })).config };
    // Starts (or, as the new process of a zero-downtime restart, takes over) and restarts on SIGUSR2 (issue 8).
    const serving = serve({ config, cwd: io.cwd, logger, env: io.env, exit: finish, startOptions: { reload } });
    const starting = serving.started;
    // SIGHUP reloads the config (one arriving during the start waits for it); process.on takes
    // any signal, the CliIO type names only the shutdown ones.
    const removeHup = handleReloadSignal({
      source: io.signals as unknown as ReloadSignalSource,
      reload: async () => {
        await starting;
        // The instance serving now: after a failed restart rolled back in place, not the first one.
        const running = serving.current();
        if (running === undefined) throw new HoldfastError('APP_NOT_SERVING', 'not serving (stopping or restarting): the reload is skipped');
        return running.reloader.reload('signal');
      },
      logger,
    });
    // Installed before anything listens: a SIGTERM that arrives while starting (even right
    // after the "listening" line) waits for the start to finish and then stops gracefully.
    const remove = handleShutdownSignals({
      source: io.signals,
      stop: () => serving.stop(),
      force: () => serving.force(),
      timeoutMs: config.shutdown.timeoutMs,
      logger,
      exit: finish,
    });
    starting.catch((err: unknown) => {
      remove();
      removeHup();
      io.stderr.write(`${formatStartupError(err, ports)}\n`);
      finish(1);
    });
  });
}
