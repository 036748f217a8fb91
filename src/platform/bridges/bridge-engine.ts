/**
 * The bridge engine (issue 9): routes matched messages into a durable outbox per sink and
 * runs one dispatcher per sink that forwards them (sink-dispatcher.ts).
 *
 * It meets the broker at two points only:
 * - `subscribeInternal(filter)` per route: the handler runs synchronously on the publish
 *   path, in the same turn as the publish, so its store.putOutbox joins the store batch
 *   whose commit the publisher's PUBACK / PUBREC waits for. A message is acknowledged only
 *   once it is safely in the outbox.
 * - `hooks.admitPublish`: when a sink with policy `refuse` is full, QoS 1/2 publishes
 *   matching one of its routes are refused before routing (v5: 0x97 Quota exceeded with a
 *   Reason String naming the sink; 3.1.1: the connection is closed by the broker).
 */
import { noopTracer } from '../../ports/tracer.js';
import type { ClientInfo } from '../../broker/hooks.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { QoS } from '../../codec/mqtt/packets.js';
import type { Logger } from '../../observability/logger.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import type { Store, StoredMessage } from '../../ports/store.js';
import { BreakerRegistry } from '../../resilience/index.js';
import type { BridgesConfig, SinkConfig } from './bridges-config.js';
import { listDeadLetters, replayDeadLetters } from './dead-letters.js';
import { loadInstanceId } from './instance-id.js';
import { compileRoutes, deviceMatches, routeMatches, type CompiledRoute } from './route-table.js';
import { SinkRuntime, type RuntimeEnv } from './sink-runtime.js';
import type { Bridges, BridgesDeps, BridgesStatus, DeadLetterPage, DeadLetterQuery, ReplayRequest, ReplayResult } from './types.js';

/** Breakers are never forgotten while their sink exists (a forgotten breaker forgets that its sink was down). */
const BREAKER_IDLE_MS = 365 * 86_400_000;

export class BridgeEngine implements Bridges {
  readonly hooks: Bridges['hooks'];
  /** One breaker per sink, and one per endpoint (http: host) shared by the sinks on it: for the metrics' breaker groups. */
  readonly breakers: { readonly sinks: BreakerRegistry; readonly endpoints: BreakerRegistry };
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly env: RuntimeEnv;
  private config: BridgesConfig;
  private readonly runtimes = new Map<string, SinkRuntime>();
  private routes: CompiledRoute[] = [];
  private unsubscribe: Array<() => void> = [];
  private readonly sinkSettings = new Map<string, SinkConfig>();
  private readonly endpointSettings = new Map<string, SinkConfig>();
  private id = '';
  private started = false;

  constructor(private readonly deps: BridgesDeps) {
    this.store = deps.store;
    this.logger = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.config = deps.config;
    const breakerOptions = (c: SinkConfig | undefined) => ({
      consecutiveFailures: c?.breakerFailures ?? 5,
      openMs: c?.breakerOpenMs ?? 10_000,
      halfOpenTrials: 1,
    });
    const common = { maxKeys: 10_000, idleMs: BREAKER_IDLE_MS, clock: this.clock };
    this.breakers = {
      sinks: new BreakerRegistry({ ...common, name: 'bridge', optionsFor: (k) => breakerOptions(this.sinkSettings.get(k)) }),
      endpoints: new BreakerRegistry({ ...common, name: 'bridge-endpoint', optionsFor: (k) => breakerOptions(this.endpointSettings.get(k)) }),
    };
    for (const [group, reg] of [['sink', this.breakers.sinks], ['endpoint', this.breakers.endpoints]] as const) {
      reg.onStateChange((key, t) => {
        const log = { [group]: key, from: t.from, to: t.to, reason: t.reason };
        if (t.to === 'open') this.logger.warn(log, `bridge ${group} breaker opened: nothing is sent, the outbox grows on disk`);
        else this.logger.info(log, `bridge ${group} breaker ${t.to}`);
      });
    }
    this.env = {
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      factories: deps.sinks,
      sinkBreakers: this.breakers.sinks,
      endpointBreakers: this.breakers.endpoints,
      random: deps.random ?? Math.random,
      tracer: deps.tracer ?? noopTracer,
      instanceId: () => this.id,
      sinkSettings: this.sinkSettings,
      noteEndpoint: (endpoint, config) => {
        if (!this.endpointSettings.has(endpoint)) this.endpointSettings.set(endpoint, config);
      },
    };
    this.hooks = { admitPublish: (client, topic, qos) => this.admit(client, topic, qos) };
  }

  get instanceId(): string {
    return this.id;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.runtimes.clear();
    this.id = await loadInstanceId(this.store, this.config.instanceId);
    const stats = await this.store.outboxStats();
    for (const sc of this.config.sinks) {
      const rt = new SinkRuntime(sc, this.env);
      await rt.restore(stats);
      if (sc.enabled) rt.create();
      this.runtimes.set(sc.name, rt);
    }
    this.setRoutes(compileRoutes(this.config.routes));
    for (const rt of this.runtimes.values()) rt.startDispatcher();
    this.started = true;
    this.logger.info(
      {
        instanceId: this.id,
        routes: this.routes.length,
        sinks: [...this.runtimes.values()].map((r) => ({ name: r.name, kind: r.config.kind, outbox: r.account.count, deadLetters: r.stats.deadLetters })),
      },
      'bridges started',
    );
  }

  /**
   * Stops the dispatchers and closes the sinks. The routes stay: publishes the broker still
   * acknowledges while it drains (stop the bridges before broker.close(), which closes the
   * store) still land in the outbox, and are sent after the next start.
   */
  async stop(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((rt) => rt.stop()));
    this.started = false;
  }

  async reload(config: BridgesConfig): Promise<void> {
    if (!this.started) {
      this.config = config;
      return;
    }
    const routes = compileRoutes(config.routes);
    const stats = await this.store.outboxStats();
    const removed: SinkRuntime[] = [];
    const restart: SinkRuntime[] = [];
    const next = new Map(config.sinks.map((s) => [s.name, s]));
    for (const [name, rt] of this.runtimes) if (!next.has(name)) removed.push(rt);
    for (const sc of config.sinks) {
      const rt = this.runtimes.get(sc.name);
      if (rt === undefined) {
        const fresh = new SinkRuntime(sc, this.env);
        await fresh.restore(stats);
        if (sc.enabled) fresh.create();
        this.runtimes.set(sc.name, fresh);
        restart.push(fresh);
      } else if (JSON.stringify(rt.config) !== JSON.stringify(sc)) {
        await rt.stop();
        rt.reconfigure(sc);
        if (sc.enabled) rt.create();
        restart.push(rt);
      }
    }
    // New routes first, then the old ones go: no gap (a message both see is queued once per sink).
    this.setRoutes(routes);
    for (const rt of removed) {
      this.runtimes.delete(rt.name);
      await rt.stop();
      this.breakers.sinks.delete(rt.name);
      this.sinkSettings.delete(rt.name);
    }
    for (const rt of restart) rt.startDispatcher();
    this.config = config;
    this.logger.info({ routes: routes.length, sinks: config.sinks.length, restarted: restart.map((r) => r.name), removed: removed.map((r) => r.name) }, 'bridges reloaded');
  }

  status(): BridgesStatus {
    const now = this.clock.now();
    return { instanceId: this.id, routes: this.routes.length, sinks: [...this.runtimes.values()].map((rt) => rt.status(now)) };
  }

  deadLetters(q?: DeadLetterQuery): Promise<DeadLetterPage> {
    return listDeadLetters(this.store, this.id, q);
  }

  replay(req?: ReplayRequest): Promise<ReplayResult> {
    return replayDeadLetters(this.store, this.runtimes, req);
  }

  private setRoutes(routes: CompiledRoute[]): void {
    const old = this.unsubscribe;
    this.unsubscribe = routes.map((route) => this.deps.broker.subscribeInternal(route.filter, (msg, publisher) => this.onMessage(route, msg, publisher)));
    this.routes = routes;
    for (const u of old) u();
  }

  /** The publish path (synchronous, same turn as the publish): queue the message for the route's sink. */
  private onMessage(route: CompiledRoute, msg: StoredMessage, publisher: ClientInfo | undefined): void {
    const rt = this.runtimes.get(route.sink);
    if (rt === undefined || !rt.enabled || rt.lastMessageId === msg.id) return;
    const clientId = publisher?.clientId ?? msg.publisherId;
    if (!deviceMatches(route, clientId, this.deps.deviceInfo)) return;
    rt.lastMessageId = msg.id;
    const refuse = rt.config.whenOutboxFull === 'refuse';
    if (refuse && msg.qos === 0 && rt.account.full) {
      rt.stats.totals.droppedQos0++;
      return;
    }
    const body =
      route.template === undefined
        ? msg.payload
        : route.template.render({
            topic: msg.topic,
            clientId,
            messageId: msg.id,
            idempotencyKey: `${this.id}-${msg.id}`,
            qos: msg.qos,
            timestamp: msg.createdAt,
            payload: msg.payload,
          });
    this.store.putOutbox({
      sink: rt.name,
      messageId: msg.id,
      topic: msg.topic,
      payload: body,
      qos: msg.qos,
      retain: msg.retain,
      properties: msg.properties,
      publisherId: clientId,
      createdAt: msg.createdAt,
      attempts: 0,
    });
    rt.account.add(body.length, msg.createdAt);
    rt.stats.totals.enqueued++;
    if (!refuse && rt.account.over) rt.dispatcher?.notifyOverflow();
    rt.dispatcher?.notifyNew();
  }

  /** admitPublish: refuse QoS 1/2 publishes bound for a full outbox with policy refuse. */
  private admit(client: ClientInfo, topic: string, qos: QoS): { reasonCode: number; reason: string } | undefined {
    if (qos === 0) return undefined;
    let anyFull = false;
    for (const rt of this.runtimes.values()) {
      if (rt.enabled && rt.config.whenOutboxFull === 'refuse' && rt.account.full) {
        anyFull = true;
        break;
      }
    }
    if (!anyFull) return undefined;
    for (const route of this.routes) {
      const rt = this.runtimes.get(route.sink);
      if (rt === undefined || !rt.enabled || rt.config.whenOutboxFull !== 'refuse' || !rt.account.full) continue;
      if (!routeMatches(route, topic, client.clientId, this.deps.deviceInfo)) continue;
      rt.stats.totals.refused++;
      const a = rt.account;
      return {
        reasonCode: RC.QUOTA_EXCEEDED,
        reason: `Bridge sink "${rt.name}" is backed up: its outbox is full (${a.count} messages, ${a.bytes} bytes); QoS ${qos} messages routed to it are refused until it drains`,
      };
    }
    return undefined;
  }
}

/** Makes the bridge engine (see docs/bridges.md for the wiring). */
export function createBridges(deps: BridgesDeps): BridgeEngine {
  return new BridgeEngine(deps);
}
