/**
 * Zero-downtime restart, the old process's side (issue 8; the protocol is in
 * handover-protocol.ts). The new process is started detached (its own process group, so
 * that the end of this one, or a signal to its group, does not reach it) with this one's
 * stdout/stderr and an IPC channel; it gets the listening sockets, this process drains and
 * closes the store, the new one opens it and serves. If the new process fails or is not
 * ready within `readyTimeoutMs`, it is killed: before the store was released this process
 * simply keeps serving; after, it starts again in place (`restartInPlace`), re-binding the
 * ports once the new process is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server as NetServer } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import { HANDOVER_ENV, type HandoverMessage } from './handover-protocol.js';
import { IpcInbox } from './ipc-inbox.js';
import type { ListeningServers } from './stop-options.js';

export interface RestartDeps {
  logger: Logger;
  readyTimeoutMs: number;
  /** The listening sockets to hand over (from the running instance). */
  servers(): ListeningServers;
  /** Drains and stops this process's broker: the store is closed when it resolves. */
  stop(): Promise<void>;
  /** Rollback after the store was released: start serving again in this process. */
  restartInPlace(): Promise<void>;
  /** Command line of the new process (default: this one's). */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

export type RestartOutcome =
  | { ok: true; pid: number; ports: Record<string, number | null>; ms: number }
  | { ok: false; pid: number | undefined; reason: string; storeReleased: boolean; ms: number };

function send(child: ChildProcess, m: HandoverMessage, handle?: NetServer): Promise<void> {
  return new Promise((resolve, reject) => {
    child.send(m, handle, (err) => (err ? reject(err) : resolve()));
  });
}

export async function restartWithSuccessor(deps: RestartDeps): Promise<RestartOutcome> {
  const { logger, readyTimeoutMs } = deps;
  const started = Date.now();
  const argv = deps.argv ?? [...process.execArgv, ...process.argv.slice(1)];
  const child = spawn(process.execPath, argv, {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...(deps.env ?? process.env), [HANDOVER_ENV]: '1' },
  });
  const inbox = new IpcInbox(child);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `it exited (${signal ?? `code ${code}`})`;
      inbox.end(exited);
      resolve();
    });
    child.once('error', (err) => {
      exited = `it could not be started: ${err.message}`;
      inbox.end(exited);
      resolve();
    });
  });
  logger.info({ newPid: child.pid, readyTimeoutMs }, 'restart: new process started, waiting for it to prepare');
  const kill = async (): Promise<void> => {
    if (exited === undefined) child.kill('SIGKILL');
    await exit;
  };
  const failed = (reason: string, storeReleased: boolean): RestartOutcome => ({ ok: false, pid: child.pid, reason, storeReleased, ms: Date.now() - started });

  // 1. The new process checks its config and warms up while this one serves.
  try {
    await inbox.next('prepared', readyTimeoutMs);
    const servers = Object.entries(deps.servers()) as Array<[keyof ListeningServers, NetServer]>;
    for (const [name, server] of servers) await send(child, { hf: 'handle', name }, server);
    await send(child, { hf: 'handles-sent', names: servers.map(([n]) => n) });
    await inbox.next('handles-taken', readyTimeoutMs);
  } catch (err) {
    await kill();
    inbox.close();
    const reason = (err as Error).message;
    logger.error({ newPid: child.pid, reason }, 'restart failed before the handover: the new process is stopped, this one keeps serving');
    return failed(reason, false);
  }

  // 2. Both accept on the shared sockets; this one stops (its copies close at once) and releases the store.
  logger.info({ newPid: child.pid }, 'restart: sockets handed over, draining this process');
  await deps.stop().catch((err: unknown) => logger.error({ err }, 'restart: the stop of the old broker failed'));
  try {
    await send(child, { hf: 'released' });
    const { m } = await inbox.next('ready', readyTimeoutMs);
    inbox.close();
    child.disconnect();
    child.unref();
    const ms = Date.now() - started;
    logger.info({ newPid: m.pid, ports: m.ports, ms }, 'restart: the new process is ready; this one exits');
    return { ok: true, pid: m.pid, ports: m.ports, ms };
  } catch (err) {
    await kill();
    inbox.close();
    const reason = (err as Error).message;
    logger.error({ newPid: child.pid, reason }, 'restart failed after the store was released: the new process is stopped, this one starts again');
    await deps.restartInPlace();
    return failed(reason, true);
  }
}
