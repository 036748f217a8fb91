/**
 * `holdfast start` as a long-running process (issue 8): starts the broker (or, as the new
 * process of a restart, takes over from the old one), writes the pid file, and restarts
 * with zero downtime on SIGUSR2. SIGTERM / SIGINT are handled by signals.ts through
 * `stop` and `force`.
 */
import type { Logger } from '../../observability/logger.js';
import type { HoldfastConfig } from '../config/index.js';
import { startFromConfig, type RunningHoldfast } from '../main.js';
import { HANDOVER_ENV } from './handover-protocol.js';
import { resolve } from 'node:path';
import { assertDataDirFree, PID_FILE, removePidFile, WORKER_PID_FILE, writePidFile, writeRestartStatus } from './pidfile.js';
import { restartWithSuccessor } from './successor.js';
import { takeOver, type TakeoverChannel } from './takeover.js';

/** Set by the supervisor in its worker's environment: the supervisor owns the pid file. */
export const SUPERVISED_ENV = 'HOLDFAST_SUPERVISED';

export interface ServeOptions {
  config: HoldfastConfig;
  cwd: string;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Ends this process with the code (after a handover: 0). */
  exit: (code: number) => void;
  /** More options for every startFromConfig (e.g. the hot-reload sources). */
  startOptions?: Omit<NonNullable<Parameters<typeof startFromConfig>[1]>, 'cwd' | 'logger' | 'inherited'>;
}

export interface Serving {
  /** Resolves once serving (the first start; rejects when it fails). */
  readonly started: Promise<RunningHoldfast>;
  stop(): Promise<void>;
  force(): void;
  /** The instance serving now (a restart that failed late starts a new one in this process). */
  current(): RunningHoldfast | undefined;
}

const READY_POLL_MS = 20;

async function waitReady(r: RunningHoldfast, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!r.isReady()) {
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms: ${r.readiness().reason ?? 'not ready'}`);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

export function serve(opts: ServeOptions): Serving {
  const { config, cwd, logger } = opts;
  const more = opts.startOptions ?? {};
  const supervised = opts.env[SUPERVISED_ENV] === '1';
  // Under --supervise the supervisor owns holdfast.pid; the worker names itself in holdfast.worker.pid.
  const pidFile = supervised ? WORKER_PID_FILE : PID_FILE;
  const channel = opts.env[HANDOVER_ENV] === '1' && process.send !== undefined ? (process as unknown as TakeoverChannel) : undefined;
  let current: RunningHoldfast | undefined;
  let restarting: Promise<void> | undefined;
  let stopping = false;

  const start = async (): Promise<RunningHoldfast> => {
    let r: RunningHoldfast;
    if (channel !== undefined) {
      try {
        const t = await takeOver(config, logger, channel, cwd);
        r = await startFromConfig(t.config, { ...more, cwd, logger, inherited: t.inherited });
        await waitReady(r, config.restart.readyTimeoutMs);
      } catch (err) {
        channel.send({ hf: 'failed', reason: err instanceof Error ? err.message : String(err) });
        throw err;
      }
    } else {
      assertDataDirFree(resolve(cwd, config.dataDir));
      r = await startFromConfig(config, { ...more, cwd, logger });
    }
    current = r;
    writePidFile(r.config.dataDir, process.pid, pidFile);
    if (channel !== undefined) {
      channel.send({ hf: 'ready', pid: process.pid, ports: { ...r.addresses } });
      process.disconnect?.();
    }
    return r;
  };
  const started = start();

  const restart = async (): Promise<void> => {
    const old = current;
    if (old === undefined || stopping) return;
    const dataDir = old.config.dataDir;
    const outcome = await restartWithSuccessor({
      logger,
      readyTimeoutMs: config.restart.readyTimeoutMs,
      servers: () => old.listeningServers(),
      stop: () => old.stop(),
      restartInPlace: async () => {
        current = await startFromConfig(config, { ...more, cwd, logger });
        writePidFile(current.config.dataDir, process.pid, pidFile);
      },
    });
    writeRestartStatus(dataDir, {
      pid: process.pid,
      outcome: outcome.ok ? 'ready' : 'failed',
      ms: outcome.ms,
      at: Date.now(),
      ...(outcome.pid !== undefined ? { newPid: outcome.pid } : {}),
      ...(outcome.ok ? {} : { reason: outcome.reason }),
    });
    if (outcome.ok) {
      current = undefined;
      opts.exit(0);
    }
  };

  const onUsr2 = (): void => {
    if (restarting !== undefined || current === undefined || stopping) {
      logger.warn('SIGUSR2: a restart or stop is already in progress (or the broker is still starting); ignored');
      return;
    }
    logger.info('SIGUSR2: zero-downtime restart');
    restarting = restart()
      .catch((err: unknown) => logger.error({ err }, 'restart failed'))
      .finally(() => (restarting = undefined));
  };
  process.on('SIGUSR2', onUsr2);
  started.catch(() => process.off('SIGUSR2', onUsr2));

  return {
    started,
    async stop() {
      stopping = true;
      process.off('SIGUSR2', onUsr2);
      await started;
      await restarting;
      const r = current;
      if (r === undefined) return; // handed over to the new process
      await r.stop();
      removePidFile(r.config.dataDir, process.pid, pidFile);
    },
    force() {
      current?.force();
    },
    current: () => current,
  };
}
