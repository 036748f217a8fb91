/**
 * The composition root: config -> logger -> data dir -> store -> hooks -> broker ->
 * listeners -> HTTP server -> one "listening" line. Stopping reverses it: listeners stop
 * accepting, the broker closes its connections and flushes, the HTTP server goes last so
 * that probes see /readyz fail while the broker drains.
 */
import { mkdir } from 'node:fs/promises';
import { Broker, startListeners, warmUpConnectPath } from '../broker/index.js';
import { MemoryStore } from '../adapters/persistence/memory/index.js';
import type { BoundAddresses, Listeners } from '../broker/transport/listeners-api.js';
import { HoldfastError } from '../errors/index.js';
import { eventLoopDelayCheck, HealthRegistry } from '../observability/health.js';
import { LogRateLimiter } from '../observability/log-rate-limit.js';
import { createLogger, silentLogger, type Logger } from '../observability/logger.js';
import { evaluateReadiness, type Readiness } from '../observability/readiness.js';
import { systemClock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { noopTracer, type Tracer } from '../ports/tracer.js';
import { loadConfig, toRuntimeConfig, type EnvValues, type FlagValues, type HoldfastConfig, type RuntimeConfig } from './config/index.js';
import { createAdminApi } from './api/admin-api.js';
import { createHooks, installPlatform } from './hooks.js';
import { bridgesConfigured, composeBridges, type BridgesHandle } from './bridges.js';
import type { ComposedPlatform } from '../platform/platform.js';
import { createHttpServer, type HttpServer } from './http-server.js';
import { brokerCloseOptions, type InheritedHandles, type ListeningServers } from './lifecycle/stop-options.js';
import { BrokerObservability, createTracing } from './observability.js';
import { LiveStaticAccess } from './reload/live-access.js';
import { createConfigReload, type ConfigReload, type ReloadSource } from './reload/wire.js';
import type { ConfigReloader } from './reload/reloader.js';
import { createPlatformStore, createStore } from './store.js';
import { VERSION } from './version.js';

export interface BoundPorts {
  mqtt: number | null;
  ws: number | null;
  tls: number | null;
  http: number | null;
}

export interface RunningHoldfast {
  /** The ports actually bound (useful with port 0); null for a disabled listener. */
  readonly addresses: BoundPorts;
  readonly config: RuntimeConfig;
  readonly logger: Logger;
  readonly broker: Broker;
  /** Metrics, SLO engine, $SYS (docs/observability.md). */
  readonly observability: BrokerObservability;
  /** The device platform (registry, credentials, shadows, commands); undefined when platform.enabled is false. */
  readonly platform: ComposedPlatform | undefined;
  /** Northbound bridges and JetStream ingress (docs/bridges.md); undefined when `bridges` configures none. */
  readonly bridges: BridgesHandle | undefined;
  /** Hot reload (SIGHUP, file change, POST /api/config/reload): the running revision, reload(). */
  readonly reloader: ConfigReloader;
  /** Broker ready, listeners open, not stopping: what /readyz reports. */
  isReady(): boolean;
  /** Every readiness condition (listeners, store, shedding, draining). */
  readiness(): Readiness;
  /** Graceful stop; safe to call more than once (later calls get the same promise). */
  stop(): Promise<void>;
  /** A second signal: connections still draining are cut now, the store is flushed and closed (issue 8). */
  force(): void;
  /** The listening sockets, handed to the new process at a zero-downtime restart (issue 8). */
  listeningServers(): ListeningServers;
}

export interface StartOptions {
  /** Config file to read (the CLI passes --config / HOLDFAST_CONFIG). */
  configFile?: string;
  /** Environment twins to honour; programmatic starts read none unless given. */
  env?: EnvValues;
  flags?: FlagValues;
  /** Use this logger instead of building one from the config. */
  logger?: Logger;
  /** Base for relative paths (dataDir, TLS files). Default: process.cwd(). */
  cwd?: string;
  /** Use this store instead of the configured one (tests: a store that fails on demand). */
  store?: Store;
  /** Use this tracer instead of the configured one (tests: an in-memory exporter). */
  tracer?: Tracer;
  /** Listening sockets taken over from the previous process (zero-downtime restart, issue 8). */
  inherited?: InheritedHandles;
  /** Where a hot reload reads the config again (startHoldfast and `holdfast start` set it). */
  reload?: ReloadSource;
}

/**
 * Starts holdfast in this process. `overrides` has the shape of the config file and wins
 * over everything else, e.g. `{ listeners: { mqtt: { port: 0 } }, http: { port: 0 } }`.
 */
export async function startHoldfast(overrides: Record<string, unknown> = {}, options: StartOptions = {}): Promise<RunningHoldfast> {
  const load = { file: options.configFile, env: options.env ?? {}, flags: options.flags ?? {}, overrides };
  const { config, file } = await loadConfig(load);
  return startFromConfig(config, { ...options, reload: options.reload ?? { file, load: async () => (await loadConfig(load)).config } });
}

async function ensureDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'a parent is not a directory' : code;
    throw new HoldfastError('APP_DATA_DIR', `cannot create data directory ${dir}: ${why}`, { cause: err });
  }
}

export async function startFromConfig(
  config: HoldfastConfig,
  options: Pick<StartOptions, 'logger' | 'cwd' | 'store' | 'tracer' | 'inherited' | 'reload'> = {},
): Promise<RunningHoldfast> {
  const runtime = await toRuntimeConfig(config, options.cwd);
  const logs = runtime.observability.logs;
  const logLimiter = new LogRateLimiter({ linesPerS: logs.maxLinesPerKindPerS, burst: logs.burstLines });
  const logger =
    options.logger ??
    createLogger({
      level: runtime.log.level,
      ...(runtime.log.format === 'auto' ? {} : { pretty: runtime.log.format === 'pretty' }),
      rateLimit: logLimiter,
    });
  await ensureDataDir(runtime.dataDir);

  const tracing = options.tracer === undefined ? await createTracing(runtime, VERSION, logger) : undefined;
  const tracer = options.tracer ?? tracing?.tracer ?? noopTracer;
  const store = options.store ?? createStore({ dataDir: runtime.dataDir, ...runtime.store });
  const access = new LiveStaticAccess(runtime.broker); // static users and ACL, replaceable by a reload
  const broker = new Broker(runtime.broker, { store, logger, hooks: createHooks(runtime.broker, access), tracer });
  const platformStore = runtime.platform.enabled ? createPlatformStore({ dataDir: runtime.dataDir, ...runtime.store }) : undefined;
  const platform = platformStore !== undefined ? installPlatform(broker, platformStore, runtime, logger, access) : undefined;
  let platformStarted = false;
  const health = new HealthRegistry({ serviceId: 'holdfast', version: VERSION });
  const observability = new BrokerObservability({
    runtime,
    broker,
    logger,
    version: VERSION,
    health,
    clock: systemClock,
    tracer,
    ...(tracing !== undefined ? { tracingStats: tracing.stats } : {}),
    ...(options.logger === undefined ? { logLimiter } : {}),
  });
  // Issue 9: its admitPublish hook chains after the broker's; started after the platform.
  const bridges = bridgesConfigured(runtime.bridges)
    ? composeBridges({ broker, config: runtime.bridges, logger, observability, health, platform })
    : undefined;
  let listeners: Listeners | undefined;
  let http: HttpServer | undefined;
  let reload: ConfigReload | undefined;
  let stopping = false;
  const forced = new AbortController();
  const eventLoop = eventLoopDelayCheck();

  const readiness = (): Readiness =>
    evaluateReadiness({
      notDraining: () => !stopping,
      brokerStarted: () => broker.isStarted,
      listenersOpen: () => listeners !== undefined,
      storeWritable: () => broker.store.health().ok,
      // The broker's overload shedder is registered below (observability.resilience.addShedder).
      notShedding: () => !observability.resilience.shedding(),
    });
  const isReady = (): boolean => readiness().ready;
  const shutdown = async (): Promise<void> => {
    stopping = true;
    reload?.close(); // no more reloads from file changes
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        logger.error({ err }, `${what} failed during stop`);
      }
    };
    // Stop accepting at once; the servers finish closing only when every connection is gone,
    // which broker.close() brings about (DISCONNECT 0x8B), so their close is awaited after it.
    const closingListeners = listeners !== undefined ? step('closing listeners', () => listeners!.close()) : undefined;
    // The SLO windows go into the store's last batch, flushed by broker.close().
    await step('stopping observability', () => observability.stop());
    // The ingress may still hand commands to the platform: the bridges stop first.
    if (bridges !== undefined) await step('stopping the bridges', () => bridges.stop());
    if (platform !== undefined && platformStarted) await step('stopping the platform', () => platform.stop());
    await step('closing the broker', async () => void (await broker.close(brokerCloseOptions(config.shutdown, forced.signal))));
    await closingListeners;
    if (platformStore !== undefined) await step('closing the platform store', () => platformStore.close());
    if (http !== undefined) await step('closing the HTTP server', () => http!.close());
    if (tracing !== undefined) await step('flushing traces', () => tracing.shutdown());
    eventLoop.stop();
    if (errors.length > 0) throw new HoldfastError('APP_STOP_FAILED', `${errors.length} step(s) of the stop failed`, { cause: errors[0] });
  };

  let httpPort: number | null = null;
  let bound: BoundAddresses = {};
  try {
    await broker.start();
    if (platformStore !== undefined && platform !== undefined) {
      await platformStore.open();
      await platform.start();
      platformStarted = true;
    }
    await bridges?.start();
    await observability.start();
    const warmup = runtime.listeners.warmupConnections ?? 0;
    if (warmup > 0) {
      // A throwaway broker with its own memory store: the real one's state and stats are untouched.
      const scratch = new Broker(runtime.broker, { store: new MemoryStore(), logger: silentLogger() });
      const w = await warmUpConnectPath(scratch, warmup);
      logger.info(w, 'connect path warmed up');
    }
    const inherited = options.inherited;
    const started: Listeners = await startListeners(broker, inherited === undefined ? runtime.listeners : { ...runtime.listeners, inherited }, logger);
    listeners = started;
    bound = started.addresses;
    reload = createConfigReload({
      config, runtime, source: options.reload, cwd: options.cwd, logger, broker, access, observability, bridges, listeners: () => listeners,
    });
    if (runtime.http.port !== null) {
      health.register('broker:ready', () => ({ status: broker.isReady() ? 'pass' : 'fail', componentType: 'component', observedValue: broker.isReady() }));
      health.register('listeners:open', () => ({
        status: listeners !== undefined && !stopping ? 'pass' : 'fail',
        componentType: 'component',
        observedValue: Object.values(listeners?.addresses ?? {}).filter((p) => p !== undefined).length,
        observedUnit: 'listeners',
      }));
      health.register('eventloop:delay', eventLoop.check);
      registerStoreChecks(health, broker);
      http = createHttpServer({
        health,
        logger,
        readiness,
        tracer,
        ...(observability.metrics !== undefined ? { metrics: observability.metrics } : {}),
        ...(observability.slo !== undefined ? { slo: observability.slo } : {}),
        bans: {
          list: () =>
            (broker.admission.flap?.bans() ?? []).map((b) => ({ clientId: b.key, since: b.since, until: b.until, reason: b.reason })),
          lift: (clientId) => broker.admission.flap?.lift(clientId) ?? false,
        },
        tokens: runtime.httpTokens,
        config: reload.reloader, // GET /api/config, POST /api/config/reload
        // The admin API (docs/api.md): every other /api/ path, when the platform or bridges run.
        ...(platform !== undefined || bridges !== undefined
          ? { api: createAdminApi({ platform, bridges, tokens: runtime.httpTokens, logger, version: VERSION }) }
          : {}),
      });
      httpPort = await http.listen(runtime.http.port, runtime.http.host, options.inherited?.http);
    }
  } catch (err) {
    await shutdown().catch(() => undefined); // each step already logged its own failure
    throw err;
  }

  const addresses: BoundPorts = { mqtt: bound.mqtt ?? null, ws: bound.ws ?? null, tls: bound.tls ?? null, http: httpPort };
  // Machine-readable: tests and scripts read this line for the bound ports.
  logger.info({ bind: runtime.listeners.bind, ports: addresses, wsPath: runtime.listeners.wsPath, version: VERSION }, 'listening');

  let stopped: Promise<void> | undefined;
  return {
    addresses,
    config: runtime,
    logger,
    broker,
    observability,
    platform,
    bridges,
    reloader: reload!.reloader,
    isReady,
    readiness,
    stop: () => (stopped ??= shutdown()),
    force: () => forced.abort(),
    listeningServers: () => ({ ...listeners?.servers?.(), ...(http?.listeningServer() !== undefined ? { http: http.listeningServer() } : {}) }),
  };
}

/** `store:writable` (fail while writes fail) and `store:commitLatency` (p99 of group commits; warn above 100 ms). */
function registerStoreChecks(health: HealthRegistry, broker: Broker): void {
  health.register('store:writable', () => {
    const h = broker.store.health();
    return h.ok
      ? { status: 'pass', componentType: 'datastore', observedValue: true }
      : { status: 'fail', componentType: 'datastore', observedValue: false, output: `${h.code}: ${h.reason}` };
  });
  health.register('store:commitLatency', () => {
    const h = broker.store.stats().commitLatency;
    if (h === undefined || h.count === 0) return { status: 'pass', componentType: 'datastore', observedValue: 0, observedUnit: 'ms' };
    const p99 = h.quantile(0.99) * 1000;
    return { status: p99 > 100 ? 'warn' : 'pass', componentType: 'datastore', observedValue: p99, observedUnit: 'ms' };
  });
}
