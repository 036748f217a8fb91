/**
 * `holdfast restart` (issue 8): a zero-downtime restart of the holdfast that serves a data
 * dir. Sends SIGUSR2 to the pid in DATA_DIR/holdfast.pid (the broker, or its supervisor)
 * and waits for the outcome the old process writes to DATA_DIR/holdfast.restart.json.
 * Exit 0 when the new process is ready, 1 when the restart failed (the old one keeps serving).
 */
import { parseArgs } from 'node:util';
import { loadConfig, toRuntimeConfig, TWINS, type FlagValues } from '../config/index.js';
import { formatStartupError } from '../startup-errors.js';
import { alive, readPidFile, readRestartStatus } from '../lifecycle/pidfile.js';
import { usageErrorFrom, type CliIO } from './io.js';

export const RESTART_USAGE = `Usage: holdfast restart [--config FILE] [--data-dir DIR] [--wait-ms N]

Zero-downtime restart of the holdfast serving DATA_DIR (the pid in DATA_DIR/holdfast.pid
gets SIGUSR2): a new process takes over the listening sockets, the old one drains and
exits. Waits for the outcome (default: restart.readyTimeoutMs x 2 + shutdown.timeoutMs).
Exit codes: 0 restarted, 1 failed (the old process keeps serving) or nothing to restart.
`;

const POLL_MS = 100;

export async function restartCommand(args: string[], io: CliIO): Promise<number> {
  let flags: FlagValues;
  let waitMs: number | undefined;
  try {
    const only = TWINS.filter((t) => t.flag === 'config' || t.flag === 'data-dir');
    const options = Object.fromEntries(only.map((t) => [t.flag, { type: 'string' as const }]));
    const parsed = parseArgs({ args, options: { ...options, 'wait-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (parsed.values.help === true) {
      io.stdout.write(RESTART_USAGE);
      return 0;
    }
    const { 'wait-ms': w, help: _help, ...rest } = parsed.values;
    if (w !== undefined) waitMs = Number(w);
    flags = rest as FlagValues;
  } catch (err) {
    const usage = usageErrorFrom(err, 'restart');
    if (usage === undefined) throw err;
    io.stderr.write(`holdfast: ${usage.message}\n`);
    return 1;
  }
  let dataDir: string;
  let defaultWaitMs: number;
  try {
    const { config } = await loadConfig({ env: io.env, flags });
    dataDir = (await toRuntimeConfig(config, io.cwd)).dataDir;
    defaultWaitMs = config.restart.readyTimeoutMs * 2 + config.shutdown.timeoutMs;
  } catch (err) {
    io.stderr.write(`${formatStartupError(err)}\n`);
    return 1;
  }
  const pid = readPidFile(dataDir);
  if (pid === undefined || !alive(pid)) {
    io.stderr.write(`holdfast restart: no running holdfast for data dir ${dataDir} (no live pid in holdfast.pid)\n`);
    return 1;
  }
  const since = Date.now();
  process.kill(pid, 'SIGUSR2');
  const deadline = since + (waitMs !== undefined && Number.isFinite(waitMs) ? waitMs : defaultWaitMs);
  while (Date.now() < deadline) {
    const s = readRestartStatus(dataDir);
    if (s !== undefined && s.at >= since) {
      if (s.outcome === 'ready') {
        io.stdout.write(`restarted: pid ${s.pid} -> ${s.newPid ?? '?'} in ${s.ms} ms\n`);
        return 0;
      }
      io.stderr.write(`holdfast restart: failed (${s.reason ?? 'unknown'}); pid ${s.pid} keeps serving\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  io.stderr.write(`holdfast restart: no outcome within ${deadline - since} ms (pid ${pid})\n`);
  return 1;
}
