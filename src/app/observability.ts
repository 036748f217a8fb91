/**
 * The observability wiring of the composition root (issue 7): what needs the broker
 * (SLIs from its counters, $SYS and alert messages through broker.publish, the store as
 * the SLO engine's state) is adapted here, on top of the broker-agnostic pieces in
 * src/observability/.
 */
import type { Broker } from '../broker/index.js';
import type { HealthRegistry } from '../observability/health.js';
import { LATENCY_BUCKETS_S } from '../observability/histogram.js';
import type { Logger } from '../observability/logger.js';
import { registerBrokerMetrics } from '../observability/metrics/broker-metrics.js';
import { MetricsExporter } from '../observability/metrics/metrics-exporter.js';
import { ResilienceRegistry } from '../observability/metrics/resilience-metrics.js';
import { scrapeCounter } from '../observability/metrics/scrape-metrics.js';
import type { LogRateLimiter } from '../observability/log-rate-limit.js';
import { SloEngine, type SloStateStore } from '../observability/slo/engine.js';
import { AlertWebhook } from '../observability/slo/notifier.js';
import { registerSloMetrics } from '../observability/slo/slo-metrics.js';
import type { AlertEvent, BurnRateRule, SliReading, SloDefinition } from '../observability/slo/spec.js';
import { SysPublisher, sysTopicValues } from '../observability/sys-topics.js';
import { loadOtlpTracing, type LoadedTracing } from '../observability/tracing/otlp.js';
import type { SpanExportStats } from '../observability/tracing/span-batcher.js';
import { registerTracingMetrics } from '../observability/tracing/tracing-metrics.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import type { Tracer } from '../ports/tracer.js';
import type { RuntimeConfig } from './config/index.js';

const DAY_MS = 86_400_000;

/**
 * CONNACK / close codes that are the server's fault (unavailable, busy, internal error,
 * quota, rate): failed attempts of the availability SLO. Refusals for the client's own
 * reasons (bad credentials, bad client id, protocol errors, not authorized) are not
 * attempts the server failed and are left out.
 */
export const SERVER_FAULT_CODES: readonly number[] = [0x80, 0x83, 0x88, 0x89, 0x97, 0x9f];

/**
 * Availability: good = accepted CONNECTs + QoS 1/2 deliveries acknowledged by the
 * subscriber; bad = CONNECTs refused for a server fault + QoS 1/2 work the server failed
 * (queue full, refused while the store was failing, failed store commits).
 */
export function availabilitySli(broker: Broker): () => SliReading {
  const s = broker.stats;
  return () => {
    const good = s.connectionsAccepted + s.deliveryAckLatency.count;
    let bad = s.dropped('queue-full') + s.dropped('store-unavailable') + broker.store.stats().commitFailures;
    for (const code of SERVER_FAULT_CODES) bad += s.connectsRefused.get(code) ?? 0;
    return { good, total: good + bad };
  };
}

/** Latency: QoS 1/2 copies sent within `thresholdMs` of the PUBLISH's receipt, over all QoS 1/2 copies sent. */
export function latencySli(broker: Broker, thresholdMs: number): () => SliReading {
  const h = broker.stats.publishToDeliverQos12;
  const i = LATENCY_BUCKETS_S.findIndex((b) => Math.abs(b - thresholdMs / 1000) < 1e-12);
  if (i < 0) throw new RangeError(`latency threshold ${thresholdMs} ms is not a histogram bound`);
  return () => ({ good: h.cumulative()[i]!, total: h.count });
}

export function sloDefinitions(broker: Broker, cfg: RuntimeConfig['slo']): SloDefinition[] {
  return cfg.objectives.map((o) => {
    const threshold = o.thresholdMs ?? 100;
    return {
      name: o.name,
      description:
        o.sli === 'availability'
          ? `${o.objectivePercent}% of CONNECTs and QoS 1/2 deliveries succeed`
          : `${o.objectivePercent}% of QoS 1/2 deliveries within ${threshold} ms`,
      objective: Math.round(o.objectivePercent * 1e6) / 1e8, // 99.99 -> 0.9999, not 0.9998999999999999
      windowMs: o.windowDays * DAY_MS,
      read: o.sli === 'availability' ? availabilitySli(broker) : latencySli(broker, threshold),
    };
  });
}

export function burnRules(cfg: RuntimeConfig['slo']): BurnRateRule[] {
  return cfg.alerts.map((a) => ({
    name: a.name,
    severity: a.severity,
    burnRate: a.burnRate,
    longWindowMs: a.longWindowS * 1000,
    shortWindowMs: a.shortWindowS * 1000,
  }));
}

/** A message from the broker itself ($SYS, alerts), built like a will (Broker.publishWill). */
export function publishFromBroker(broker: Broker, topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
  const now = broker.clock.now();
  broker.publish(
    {
      id: broker.newMessageId(),
      topic,
      payload: Buffer.from(payload),
      qos,
      retain,
      properties: { payloadFormatIndicator: 1, contentType: topic.startsWith('$SYS/') ? 'text/plain' : 'application/json' },
      expiresAt: 0,
      publisherId: undefined,
      createdAt: now,
    },
    undefined,
  );
}

/** The SLO windows in the broker's store (key `slo/windows`). */
export function storeSloState(store: Store): SloStateStore {
  return { load: () => store.getMeta('slo/windows'), save: (data) => store.putMeta('slo/windows', data) };
}

export async function createTracing(runtime: RuntimeConfig, version: string, logger?: Logger): Promise<LoadedTracing | undefined> {
  const t = runtime.observability.tracing;
  if (t.otlpUrl === undefined) return undefined;
  return loadOtlpTracing({
    url: t.otlpUrl,
    serviceName: t.serviceName,
    serviceVersion: version,
    sampleRatio: t.sampleRatio,
    timeoutMs: t.exportTimeoutMs,
    maxQueueSize: t.maxQueuedSpans,
    ...(logger !== undefined
      ? { onWorkerLost: (reason: string) => logger.error({ event: 'trace-export-lost', reason }, 'the trace export worker stopped: spans are no longer exported (counted as failed) until a restart') }
      : {}),
  });
}

export interface ObservabilityOptions {
  runtime: RuntimeConfig;
  broker: Broker;
  logger: Logger;
  version: string;
  health: HealthRegistry;
  clock: Clock;
  logLimiter?: LogRateLimiter;
  tracer?: Tracer;
  /** The shipped tracing's export counts (otlp.ts), when tracing is on. */
  tracingStats?: () => SpanExportStats;
}

/** Metrics, SLO engine and $SYS for one running broker; start() after broker.start(), stop() before broker.close(). */
export class BrokerObservability {
  readonly metrics: MetricsExporter | undefined;
  readonly slo: SloEngine | undefined;
  readonly resilience = new ResilienceRegistry();
  private sys: SysPublisher | undefined;
  private webhook: AlertWebhook | undefined;
  private readonly startedAt: number;

  constructor(private readonly o: ObservabilityOptions) {
    const { runtime, broker, logger } = o;
    this.startedAt = o.clock.now();
    const s = broker.stats;
    this.resilience.addBreaker('store', () => (broker.store.health().ok ? 'closed' : 'open'));
    this.resilience.addLimiter('connect-while-stopping', () => s.connectionsRefused);
    this.resilience.addLimiter('receive-maximum', () => s.serverReasonCodes.get(0x93) ?? 0);
    this.resilience.addLimiter('retained-limit', () => s.dropped('retained-limit'));
    this.resilience.addLimiter('slow-consumer', () => s.slowConsumersDisconnected);
    // Issue 6: admission, overload, flapping, per-client rates, the auth breaker.
    const admission = broker.admission;
    if (admission.shedder !== undefined) this.resilience.addShedder('overload', admission.shedder);
    this.resilience.addBreaker('auth', () => broker.authBreaker.state);
    for (const cause of ['max-connections', 'listener-full', 'listener-rate', 'ip-rate', 'banned', 'overload'] as const) {
      this.resilience.addLimiter(`admission:${cause}`, () => admission.refused.get(cause) ?? 0);
    }
    this.resilience.addLimiter('client-rate', () => s.rateLimited);
    this.resilience.addLimiter('overload-publish-pause', () => s.overloadPauses);

    if (runtime.slo.enabled && runtime.slo.objectives.length > 0) {
      const slos = sloDefinitions(broker, runtime.slo);
      this.slo = new SloEngine({
        slos,
        rules: burnRules(runtime.slo),
        clock: o.clock,
        state: storeSloState(broker.store),
        persistIntervalMs: runtime.slo.persistIntervalS * 1000,
        onStateError: (err) => logger.warn({ err, event: 'slo-state-unreadable' }, 'SLO windows could not be read back; starting empty'),
      });
      this.slo.onAlert((e) => this.onAlert(e));
      const hook = runtime.slo.webhook;
      if (hook.url !== undefined) {
        this.webhook = new AlertWebhook({
          url: hook.url,
          timeoutMs: hook.timeoutMs,
          onError: (err, e) => logger.warn({ err, event: 'slo-webhook-failed', slo: e.slo, alert: e.alert }, 'SLO alert webhook failed'),
        });
      }
    }

    if (runtime.observability.metrics.enabled) {
      const m = new MetricsExporter({ version: o.version });
      registerBrokerMetrics(m.registry, broker);
      this.resilience.register(m.registry);
      if (this.slo !== undefined) registerSloMetrics(m.registry, this.slo);
      const limiter = o.logLimiter;
      if (limiter !== undefined) {
        scrapeCounter(m.registry, {
          name: 'holdfast_log_lines_suppressed_total',
          help: 'Log lines dropped by the per-kind rate limit, by level.',
          labelNames: ['level'],
          read: () => [...limiter.suppressedByLevel].map(([level, n]) => [{ level }, n] as const),
        });
      }
      if (o.tracingStats !== undefined) registerTracingMetrics(m.registry, o.tracingStats);
      this.metrics = m;
    }
  }

  async start(): Promise<void> {
    const { runtime, broker, logger } = this.o;
    if (this.slo !== undefined) {
      await this.slo.start();
      this.slo.startTimer(runtime.slo.evaluateIntervalS * 1000);
    }
    if (runtime.observability.sys.intervalS > 0) {
      this.sys = new SysPublisher({
        intervalMs: runtime.observability.sys.intervalS * 1000,
        values: () => sysTopicValues(broker, this.startedAt, this.o.clock.now(), this.o.version),
        publish: (topic, payload) => publishFromBroker(broker, topic, payload, 0, true),
        onError: (err) => logger.warn({ err, event: 'sys-publish-failed' }, '$SYS publish failed'),
      });
      this.sys.start();
    }
  }

  /**
   * Hot reload of slo.objectives / alerts / evaluateIntervalS / persistIntervalS /
   * alertTopicPrefix (src/app/reload/slo-applier.ts). The windows of SLOs that keep their
   * name are kept. False when there is no engine (slo.enabled false or no objectives at
   * start): turning it on needs a restart.
   */
  reconfigureSlo(next: RuntimeConfig['slo']): boolean {
    const slo = this.slo;
    if (slo === undefined) return false;
    const cfg = this.o.runtime.slo;
    slo.reconfigure({ slos: sloDefinitions(this.o.broker, next), rules: burnRules(next), persistIntervalMs: next.persistIntervalS * 1000 });
    const timerChanged = next.evaluateIntervalS !== cfg.evaluateIntervalS;
    Object.assign(cfg, structuredClone({ objectives: next.objectives, alerts: next.alerts, evaluateIntervalS: next.evaluateIntervalS, persistIntervalS: next.persistIntervalS, alertTopicPrefix: next.alertTopicPrefix }));
    if (timerChanged && slo.timerRunning) slo.startTimer(cfg.evaluateIntervalS * 1000);
    return true;
  }

  /** Stops the timers and saves the SLO windows (into the store's next batch). */
  async stop(): Promise<void> {
    this.sys?.stop();
    this.slo?.stop();
    await this.webhook?.drain();
  }

  private onAlert(e: AlertEvent): void {
    const { runtime, broker, logger } = this.o;
    const line = { event: `slo-alert-${e.state}`, slo: e.slo, alert: e.alert, severity: e.severity, longBurnRate: e.longBurnRate, shortBurnRate: e.shortBurnRate };
    if (e.state === 'firing') logger.error(line, 'SLO burn-rate alert firing');
    else logger.warn(line, 'SLO burn-rate alert resolved');
    if (!broker.isClosing) publishFromBroker(broker, `${runtime.slo.alertTopicPrefix}/${e.slo}/${e.alert}`, JSON.stringify(e), 1, true);
    this.webhook?.send(e);
  }
}
