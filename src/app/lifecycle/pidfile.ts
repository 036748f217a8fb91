/**
 * The pid file (DATA_DIR/holdfast.pid) names the process that serves the data dir: the
 * broker, or the supervisor under `--supervise`. `holdfast restart` signals it and then
 * reads the outcome the old process writes to DATA_DIR/holdfast.restart.json.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { HoldfastError } from '../../errors/index.js';
import { join } from 'node:path';

export const PID_FILE = 'holdfast.pid';
/** Under `--supervise`: the worker's pid (holdfast.pid names the supervisor). */
export const WORKER_PID_FILE = 'holdfast.worker.pid';
export const RESTART_STATUS_FILE = 'holdfast.restart.json';

export interface RestartStatus {
  /** The process that was asked to restart. */
  pid: number;
  outcome: 'ready' | 'failed';
  newPid?: number;
  reason?: string;
  ms: number;
  at: number;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function writePidFile(dataDir: string, pid = process.pid, file = PID_FILE): void {
  writeAtomic(join(dataDir, file), `${pid}\n`);
}

export function readPidFile(dataDir: string, file = PID_FILE): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, file), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the pid file if it still names `pid` (a successor may have written its own). */
export function removePidFile(dataDir: string, pid = process.pid, file = PID_FILE): void {
  if (readPidFile(dataDir, file) === pid) rmSync(join(dataDir, file), { force: true });
}

export function writeRestartStatus(dataDir: string, status: RestartStatus): void {
  writeAtomic(join(dataDir, RESTART_STATUS_FILE), `${JSON.stringify(status)}\n`);
}

export function readRestartStatus(dataDir: string): RestartStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, RESTART_STATUS_FILE), 'utf8')) as RestartStatus;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (and may be signalled). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process (Linux /proc), or undefined where that cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/**
 * Refuses to start when DATA_DIR/holdfast.pid names another live holdfast: two brokers on
 * one store would each keep their own sessions in memory and diverge. The process's own
 * supervisor (its parent) and a pid reused by another program (checked through
 * /proc/PID/cmdline where it exists) do not count.
 */
export function assertDataDirFree(dataDir: string): void {
  const pid = readPidFile(dataDir);
  if (pid === undefined || pid === process.pid || pid === process.ppid || !alive(pid)) return;
  const cmd = commandLine(pid);
  if (cmd !== undefined && !cmd.includes('holdfast')) return;
  throw new HoldfastError('APP_DATA_DIR_IN_USE', `data directory ${dataDir} is in use by holdfast pid ${pid} (${join(dataDir, PID_FILE)}); stop it, use another --data-dir, or run holdfast restart`, {
    details: { dataDir, pid },
  });
}
