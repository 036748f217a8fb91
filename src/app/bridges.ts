/**
 * The northbound bridges and the JetStream ingress in the composition root (issue 9,
 * docs/bridges.md): the engine with this build's sinks (src/adapters/northbound), its
 * admitPublish hook chained after any the broker already has, its metrics and breaker
 * groups in the observability view, the device facts of the platform for routes with a
 * deviceType / labels, and one JetStreamIngress per `bridges.ingress[]` entry.
 *
 * Lifecycle (main.ts): composeBridges() before broker.start(); start() after it (and the
 * platform) and before the listeners; stop() before broker.close() (routing goes on until
 * then: what is acknowledged meanwhile is in the outbox and sent after the next start).
 */
import { northboundSinks } from '../adapters/northbound/index.js';
import type { Broker } from '../broker/broker.js';
import type { Hooks } from '../broker/hooks.js';
import type { HealthRegistry } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import {
  createBridges,
  registerBridgeMetrics,
  type BridgeEngine,
  type BridgesConfig,
  type BridgesStatus,
  type DeadLetterPage,
  type DeadLetterQuery,
  type ReplayRequest,
  type ReplayResult,
} from '../platform/bridges/index.js';
import { JetStreamIngress, type IngressState, type IngressStats } from '../platform/ingress/index.js';
import type { ComposedPlatform } from '../platform/platform.js';
import { DeviceFactsCache } from './device-facts.js';
import type { BrokerObservability } from './observability.js';

export interface IngressStatus {
  name: string;
  stream: string;
  state: IngressState;
  lastError: string | undefined;
  stats: IngressStats;
  queued: number;
  /** Message ids in the dedupe window. */
  window: number;
}

export interface BridgesView extends BridgesStatus {
  ingress: IngressStatus[];
}

/** What RunningHoldfast exposes (`bridges`), the admin API and the hot reload use. */
export interface BridgesHandle {
  readonly engine: BridgeEngine;
  status(): BridgesView;
  /** Dead letters of the sinks and of the ingress (sink `ingress:<name>`). */
  deadLetters(q?: DeadLetterQuery): Promise<DeadLetterPage>;
  /** Sinks: back to their outbox. Ingress (`sink: 'ingress:<name>'`): published to NATS again. */
  replay(req?: ReplayRequest): Promise<ReplayResult>;
  /** Whether `sink` names a configured sink or ingress (`ingress:<name>`). */
  hasSink(sink: string): boolean;
  /**
   * Applies a new `bridges` section (hot reload): routes are swapped at once, changed sinks
   * restarted, removed sinks stopped (their outbox stays on disk), new sinks started. The
   * ingress list is not reloaded: when `bridges.ingress` changed, the rest is applied and
   * `restartRequired` names it.
   */
  reconfigure(config: BridgesConfig): Promise<{ restartRequired: string[] }>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ComposeBridgesOptions {
  broker: Broker;
  config: BridgesConfig;
  logger: Logger;
  observability: BrokerObservability;
  health: HealthRegistry;
  platform: ComposedPlatform | undefined;
}

/** Whether the section configures anything (no sinks and no ingress: no engine at all). */
export function bridgesConfigured(config: BridgesConfig): boolean {
  return config.sinks.length > 0 || config.ingress.length > 0;
}

/** Chains a second admitPublish after the one the hooks already have (the first refusal wins). */
export function chainAdmitPublish(hooks: Hooks, next: NonNullable<Hooks['admitPublish']>): void {
  const prev = hooks.admitPublish;
  hooks.admitPublish = prev === undefined ? next : (client, topic, qos, retain) => prev(client, topic, qos, retain) ?? next(client, topic, qos, retain);
}

export function composeBridges(o: ComposeBridgesOptions): BridgesHandle {
  const { broker, logger, observability } = o;
  let config = o.config;
  const needsFacts = (): boolean => config.routes.some((r) => r.deviceType !== undefined || r.labels !== undefined);
  const facts = o.platform !== undefined ? new DeviceFactsCache(o.platform.devices, needsFacts) : undefined;
  const engine = createBridges({
    broker,
    store: broker.store,
    config,
    logger: logger.child({ component: 'bridges' }),
    clock: broker.clock,
    tracer: broker.tracer,
    sinks: northboundSinks,
    ...(facts !== undefined ? { deviceInfo: facts.lookup } : {}),
  });
  chainAdmitPublish(broker.hooks, engine.hooks.admitPublish);
  facts?.install(broker.hooks);
  if (observability.metrics !== undefined) registerBridgeMetrics(observability.metrics.registry, engine);
  observability.resilience.addBreakerGroup('bridge-sinks', engine.breakers.sinks);
  observability.resilience.addBreakerGroup('bridge-endpoints', engine.breakers.endpoints);
  o.health.register('bridges:sinks', () => {
    const bad = engine.status().sinks.filter((s) => s.breaker !== 'closed' || s.outbox.full);
    // A sink being down is not the broker failing: warn (the outbox holds the messages).
    return bad.length === 0
      ? { status: 'pass', componentType: 'component', observedValue: 0, observedUnit: 'sinks down' }
      : {
          status: 'warn',
          componentType: 'component',
          observedValue: bad.length,
          observedUnit: 'sinks down',
          output: bad.map((s) => `${s.name}: breaker ${s.breaker}${s.outbox.full ? ', outbox full' : ''}, ${s.outbox.messages} waiting`).join('; '),
        };
  });
  const ingress = config.ingress.map(
    (input) =>
      new JetStreamIngress(input, {
        broker,
        ...(o.platform !== undefined ? { commands: o.platform.commands } : {}),
        logger: logger.child({ component: 'ingress', ingress: input.name }),
        clock: broker.clock,
      }),
  );
  const ingressOf = (sink: string | undefined): JetStreamIngress | undefined =>
    sink?.startsWith('ingress:') === true ? ingress.find((g) => g.deadLetterSink === sink) : undefined;
  let started = false;

  return {
    engine,
    status: () => ({
      ...engine.status(),
      ingress: ingress.map((g) => ({ name: g.name, stream: g.options.stream, ...g.status() })),
    }),
    deadLetters: (q) => engine.deadLetters(q),
    async replay(req = {}) {
      const g = ingressOf(req.sink);
      if (g === undefined) return engine.replay(req);
      const ids = req.messageIds ?? (await engine.deadLetters({ sink: g.deadLetterSink, limit: Math.min(1000, req.limit ?? 1000) })).items.map((d) => d.messageId);
      const n = ids.length === 0 ? 0 : await g.replayDeadLetters(ids);
      return { replayed: n, bySink: n > 0 ? { [g.deadLetterSink]: n } : {} };
    },
    hasSink: (sink) => config.sinks.some((s) => s.name === sink) || ingressOf(sink) !== undefined,
    async reconfigure(next) {
      const restartRequired = JSON.stringify(next.ingress) === JSON.stringify(config.ingress) ? [] : ['bridges.ingress'];
      await engine.reload(next);
      config = { ...next, ingress: config.ingress };
      if (restartRequired.length > 0) logger.warn({ restartRequired }, 'bridges reloaded; bridges.ingress changed and applies after a restart');
      return { restartRequired };
    },
    async start() {
      await engine.start();
      started = true;
      for (const g of ingress) await g.start();
    },
    async stop() {
      await Promise.all(ingress.map((g) => g.stop()));
      if (started) await engine.stop();
      started = false;
    },
  };
}
