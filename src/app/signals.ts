/**
 * SIGTERM / SIGINT handling (INTERFACES.md: exit 0 after a graceful stop). The first
 * signal starts the graceful stop under a deadline. A second signal, when `force` is given,
 * cuts what is still draining so that the stop ends now with a clean store close (issue 8);
 * without `force`, or at a third signal, the process ends at once with exit code 1, as it
 * does when the stop fails or misses its deadline.
 */
import type { Logger } from '../observability/logger.js';

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** The part of `process` used here, so tests can drive it with an EventEmitter. */
export interface SignalSource {
  on(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
  off(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
}

export interface ShutdownOptions {
  source: SignalSource;
  stop: () => Promise<void>;
  timeoutMs: number;
  logger: Logger;
  /** Called exactly once with the exit code. */
  exit: (code: number) => void;
  /** Second signal: finish the stop now (cut connections still draining, close the store). */
  force?: () => void;
}

const SIGNALS: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'];

/** Installs the handlers; returns a function that removes them. */
export function handleShutdownSignals(opts: ShutdownOptions): () => void {
  let stopping = false;
  let forced = false;
  let exited = false;
  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    opts.exit(code);
  };

  const onSignal = (signal: ShutdownSignal): void => {
    if (exited) return;
    if (stopping && opts.force !== undefined && !forced) {
      forced = true;
      opts.logger.warn({ signal }, 'second signal: cutting the connections still draining, then closing the store');
      opts.force();
      return;
    }
    if (stopping) {
      opts.logger.warn({ signal }, 'second signal: exiting now, without finishing the graceful stop');
      exit(1);
      return;
    }
    stopping = true;
    opts.logger.info({ signal, timeoutMs: opts.timeoutMs }, 'stopping');
    const timer = setTimeout(() => {
      opts.logger.error({ timeoutMs: opts.timeoutMs }, 'graceful stop did not finish in time: exiting');
      exit(1);
    }, opts.timeoutMs);
    opts.stop().then(
      () => {
        clearTimeout(timer);
        opts.logger.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        opts.logger.error({ err }, 'graceful stop failed');
        exit(1);
      },
    );
  };

  // The handlers stay installed after exit(): the process is going away, and a late signal
  // must be swallowed rather than reach the default handler (death by signal, code 128+n).
  for (const s of SIGNALS) opts.source.on(s, onSignal);
  return () => {
    for (const s of SIGNALS) opts.source.off(s, onSignal);
  };
}
