/**
 * `holdfast start --supervise` (issue 8): this process keeps a stable pid (the pid file
 * names it; systemd's main pid) and runs the broker as a worker: `holdfast start` with the
 * same arguments. A worker that crashes (non-zero exit, killed by a signal) is started again
 * after a backoff that doubles per crash in a row (supervise.initialBackoffMs ..
 * maxBackoffMs) and resets once a worker ran supervise.stableAfterMs. SIGTERM / SIGINT /
 * SIGHUP / SIGUSR2 are passed to the worker; after a stop signal the supervisor exits with
 * the worker's code. At a zero-downtime restart (SIGUSR2) the worker hands over to a new
 * process it starts itself; that one names itself in DATA_DIR/holdfast.worker.pid and the
 * supervisor adopts it (watching it by pid) when the old worker exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../../observability/logger.js';
import type { CliIO } from '../commands/io.js';
import { loadConfig, toRuntimeConfig, TWINS, type FlagValues } from '../config/index.js';
import { formatStartupError } from '../startup-errors.js';
import { alive, assertDataDirFree, readPidFile, removePidFile, WORKER_PID_FILE, writePidFile } from './pidfile.js';
import { SUPERVISED_ENV } from './serve.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] as const;
type Forwarded = (typeof FORWARDED)[number];
/** How often an adopted worker (not our child) is checked. */
const ADOPTED_POLL_MS = 200;

interface Worker {
  pid: number;
  child: ChildProcess | undefined;
  startedAt: number;
}


export async function superviseCommand(args: string[], io: CliIO): Promise<number> {
  let dataDir: string;
  let cfg: { initialBackoffMs: number; maxBackoffMs: number; stableAfterMs: number };
  let logger: Logger;
  try {
    const options = Object.fromEntries(TWINS.map((t) => [t.flag, { type: 'string' as const }]));
    const flags = parseArgs({ args, options, strict: true, allowPositionals: false }).values as FlagValues;
    const { config } = await loadConfig({ env: io.env, flags });
    dataDir = (await toRuntimeConfig(config, io.cwd)).dataDir;
    cfg = config.supervise;
    logger = createLogger({ level: config.log.level, ...(config.log.format === 'auto' ? {} : { pretty: config.log.format === 'pretty' }) }).child({ supervisor: true });
  } catch (err) {
    io.stderr.write(`${formatStartupError(err)}\n`);
    return 1;
  }
  const { mkdirSync } = await import('node:fs');
  try {
    mkdirSync(dataDir, { recursive: true });
    assertDataDirFree(dataDir);
  } catch (err) {
    io.stderr.write(`${formatStartupError(err)}\n`);
    return 1;
  }
  writePidFile(dataDir);

  return new Promise<number>((resolve) => {
    let worker: Worker | undefined;
    let stopping = false;
    let crashes = 0;
    let backoff: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;

    const finish = (code: number): void => {
      for (const s of FORWARDED) process.off(s, onSignal);
      if (backoff !== undefined) clearTimeout(backoff);
      if (poll !== undefined) clearInterval(poll);
      removePidFile(dataDir);
      logger.info({ code }, 'supervisor: exiting');
      resolve(code);
    };

    const startWorker = (): void => {
      backoff = undefined;
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], 'start', ...args], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...io.env, [SUPERVISED_ENV]: '1' },
      });
      const w: Worker = { pid: child.pid ?? 0, child, startedAt: Date.now() };
      worker = w;
      logger.info({ pid: w.pid, restarts: crashes }, 'supervisor: worker started');
      child.once('exit', (code, signal) => gone(w, code, signal));
      child.once('error', (err) => {
        logger.error({ err }, 'supervisor: the worker could not be started');
        gone(w, 1, null);
      });
    };

    const adopt = (pid: number): void => {
      const w: Worker = { pid, child: undefined, startedAt: Date.now() };
      worker = w;
      logger.info({ pid }, 'supervisor: the worker handed over (zero-downtime restart); watching the new one');
      poll = setInterval(() => {
        if (!alive(pid)) {
          clearInterval(poll);
          poll = undefined;
          gone(w, null, null);
        }
      }, ADOPTED_POLL_MS);
    };

    const gone = (w: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
      if (worker !== w) return;
      worker = undefined;
      const successor = readPidFile(dataDir, WORKER_PID_FILE);
      if (successor !== undefined && successor !== w.pid && alive(successor)) {
        adopt(successor);
        return;
      }
      if (stopping) {
        finish(code ?? 0);
        return;
      }
      const ranMs = Date.now() - w.startedAt;
      if (ranMs >= cfg.stableAfterMs) crashes = 0;
      const waitMs = Math.min(cfg.maxBackoffMs, cfg.initialBackoffMs * 2 ** crashes);
      crashes++;
      logger.error({ pid: w.pid, code, signal, ranMs, restartInMs: waitMs, crashesInARow: crashes }, 'supervisor: the worker died; restarting it');
      backoff = setTimeout(startWorker, waitMs);
    };

    function onSignal(signal: Forwarded): void {
      if (signal === 'SIGTERM' || signal === 'SIGINT') {
        stopping = true;
        if (worker === undefined) {
          finish(0); // between two workers: nothing to stop
          return;
        }
      }
      if (worker === undefined) return;
      try {
        process.kill(worker.pid, signal);
      } catch (err) {
        logger.warn({ err, signal }, 'supervisor: could not signal the worker');
      }
    }
    for (const s of FORWARDED) process.on(s, onSignal);
    startWorker();
  });
}
