/**
 * The drain of a graceful stop (issue 8): every connection is asked to shut down (it
 * acknowledges what it has read, then closes: DISCONNECT 0x8B for v5), and those still open
 * when the drain deadline passes, or when `signal` aborts (a second signal), are cut.
 */
import { RC } from '../codec/mqtt/reason-codes.js';
import type { Clock } from '../ports/clock.js';
import type { ConnectionHandle } from './broker.js';

/** Wills at a server stop (shutdown.wills): see BrokerCloseOptions. */
export type ShutdownWillPolicy = 'session-end' | 'never' | 'always';

export interface BrokerCloseOptions {
  /** DISCONNECT reason for v5 clients; default 0x8B Server shutting down. */
  reasonCode?: number;
  /** MQTT5 3.14.2.2.5 Server Reference in that DISCONNECT. */
  serverReference?: string;
  /** How long connections may take to get their in-flight publishes acknowledged; then the rest is cut. Default 0 (cut at once). */
  drainTimeoutMs?: number;
  /** Aborting it cuts the connections still draining at once (a second signal). */
  signal?: AbortSignal;
  /**
   * session-end (default): wills of sessions that end now fire, persistent sessions keep
   * theirs pending (fired after a restart if the client does not return); never: none fires
   * now; always: every will fires as on a network failure (will delay honoured).
   */
  wills?: ShutdownWillPolicy;
}

/** What a close did: connections drained (closed after their acknowledgements) and cut at the deadline. */
export interface BrokerCloseReport {
  connections: number;
  drained: number;
  cut: number;
  drainMs: number;
}

/** How often the drain looks whether every connection is gone. */
const POLL_MS = 10;

export async function drainConnections(
  connections: Set<ConnectionHandle>,
  opts: BrokerCloseOptions,
  clock: Clock,
): Promise<BrokerCloseReport> {
  const reasonCode = opts.reasonCode ?? RC.SERVER_SHUTTING_DOWN;
  const started = clock.now();
  const total = connections.size;
  for (const c of [...connections]) c.shutdown(reasonCode, opts.serverReference);
  const drainMs = opts.drainTimeoutMs ?? 0;
  if (connections.size > 0 && drainMs > 0 && opts.signal?.aborted !== true) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearInterval(poll);
        clearTimeout(deadline);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      const poll = setInterval(() => {
        if (connections.size === 0) done();
      }, POLL_MS);
      const deadline = setTimeout(done, drainMs);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }
  const cut = connections.size;
  for (const c of [...connections]) c.shutdown(reasonCode, opts.serverReference, true);
  return { connections: total, drained: total - cut, cut, drainMs: clock.now() - started };
}
