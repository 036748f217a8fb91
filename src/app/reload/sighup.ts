/**
 * SIGHUP reloads the config (issue 8), as for most daemons (`systemctl reload`,
 * `kill -HUP`). Installed at once by `holdfast start`: without a handler a SIGHUP would end
 * the process. A SIGHUP during the start waits for it; the outcome is logged by the reloader.
 */
import type { Logger } from '../../observability/logger.js';

/** The part of `process` used here (tests drive it with an EventEmitter). */
export interface ReloadSignalSource {
  on(event: 'SIGHUP', listener: () => void): unknown;
  off(event: 'SIGHUP', listener: () => void): unknown;
}

export interface ReloadSignalOptions {
  source: ReloadSignalSource;
  reload: () => Promise<unknown>;
  logger: Logger;
}

/** Installs the handler; returns a function that removes it. */
export function handleReloadSignal(o: ReloadSignalOptions): () => void {
  const onHup = (): void => {
    o.logger.info({ signal: 'SIGHUP' }, 'reloading the config');
    o.reload().catch((err: unknown) => o.logger.error({ err }, 'config reload after SIGHUP failed'));
  };
  o.source.on('SIGHUP', onHup);
  return () => {
    o.source.off('SIGHUP', onHup);
  };
}
