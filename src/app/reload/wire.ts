/**
 * Hot reload in the composition root: the reloader with the live sections of this process,
 * its metrics, and the config file watch. main.ts calls createConfigReload() once the
 * listeners are open and close() first thing at stop; `holdfast start` adds SIGHUP
 * (sighup.ts). Another live section is one `reloader.addApplier(...)` away (appliers.ts).
 */
import type { Broker } from '../../broker/broker.js';
import type { Listeners } from '../../broker/transport/listeners-api.js';
import type { Logger } from '../../observability/logger.js';
import { scrapeCounter, scrapeGauge } from '../../observability/metrics/scrape-metrics.js';
import type { HoldfastConfig } from '../config/index.js';
import type { RuntimeConfig } from '../config/to-runtime.js';
import type { BrokerObservability } from '../observability.js';
import { bridgesApplier, brokerApplier, httpTokensApplier, logLevelApplier, tlsApplier, type ReloadableBridges } from './appliers.js';
import type { LiveStaticAccess } from './live-access.js';
import { ConfigReloader, type ReloadResult } from './reloader.js';
import { sloApplier } from './slo-applier.js';
import { watchConfigFile, type ConfigWatch } from './watch.js';

/** Where a reload reads the config from: what `holdfast start` (or startHoldfast) read it from. */
export interface ReloadSource {
  /** Loads and validates the config again: file < environment < flags (< overrides). */
  load(): Promise<HoldfastConfig>;
  /** The config file, watched when config.watch is on. */
  file?: string | undefined;
}

export interface ConfigReloadDeps {
  config: HoldfastConfig;
  runtime: RuntimeConfig;
  /** Absent: the config has no source to read again (a reload finds it unchanged). */
  source: ReloadSource | undefined;
  cwd?: string | undefined;
  logger: Logger;
  broker: Broker;
  access: LiveStaticAccess;
  listeners: () => Listeners | undefined;
  observability: BrokerObservability;
  /** The bridges, when they run (bridges.sinks / routes are then live). */
  bridges?: ReloadableBridges | undefined;
}

export interface ConfigReload {
  readonly reloader: ConfigReloader;
  /** Stops watching the file (reloads asked for later still run). */
  close(): void;
}

const RESULTS: readonly ReloadResult[] = ['applied', 'unchanged', 'invalid', 'failed'];

export function createConfigReload(d: ConfigReloadDeps): ConfigReload {
  const initial = d.config;
  const reloader = new ConfigReloader({
    initial: { config: d.config, runtime: d.runtime },
    load: d.source?.load ?? (() => Promise.resolve(initial)),
    cwd: d.cwd,
    logger: d.logger,
    appliers: [
      brokerApplier(d.broker, d.access),
      logLevelApplier(d.logger),
      httpTokensApplier(d.runtime.httpTokens),
      tlsApplier(d.listeners, d.runtime),
      sloApplier(d.observability),
      ...(d.bridges !== undefined ? [bridgesApplier(d.bridges)] : []),
    ],
  });
  const registry = d.observability.metrics?.registry;
  if (registry !== undefined) {
    scrapeCounter(registry, {
      name: 'holdfast_config_reload_total',
      help: 'Config reloads by result: applied, unchanged (same hash, no-op), invalid (refused, running config kept), failed (a section failed while applied).',
      labelNames: ['result'],
      read: () => RESULTS.map((result) => [{ result }, reloader.counts.get(result) ?? 0] as const),
    });
    scrapeGauge(registry, {
      name: 'holdfast_config_revision',
      help: 'Revision of the running config (1 = the config the process started with).',
      read: () => reloader.running.revision,
    });
    scrapeGauge(registry, {
      name: 'holdfast_config_pending_restart_settings',
      help: 'Settings changed by a reload that take effect only after a restart.',
      read: () => reloader.running.pendingRestart.length,
    });
  }
  let watch: ConfigWatch | undefined;
  const file = d.source?.file;
  if (file !== undefined && d.config.config.watch) {
    watch = watchConfigFile({
      file,
      debounceMs: d.config.config.watchDebounceMs,
      logger: d.logger,
      onChange: () => {
        d.logger.info({ file }, 'config file changed: reloading');
        void reloader.reload('file');
      },
    });
  }
  return {
    reloader,
    close: () => watch?.close(),
  };
}
