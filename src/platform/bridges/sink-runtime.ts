/**
 * One configured sink at run time: its adapter, its dispatcher, the counters of its
 * outbox, its breakers and its lock. Made and torn down by the engine (start, reload,
 * stop); the counters survive a reload of the same sink.
 */
import type { Tracer } from '../../ports/tracer.js';
import { HoldfastError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { Sink } from '../../ports/sink.js';
import type { OutboxStats, Store } from '../../ports/store.js';
import { runWithDeadline, type BreakerRegistry, type CircuitBreaker } from '../../resilience/index.js';
import type { SinkConfig } from './bridges-config.js';
import { SerialLock } from './dispatch-sync.js';
import { OutboxAccount } from './outbox-account.js';
import { SinkDispatcher } from './sink-dispatcher.js';
import { SinkStats } from './sink-stats.js';
import type { SinkFactories, SinkStatus } from './types.js';

const CLOSE_TIMEOUT_MS = 5_000;
const DEAD_LETTER_PAGE = 1_000;

export interface RuntimeEnv {
  store: Store;
  clock: Clock;
  logger: Logger;
  factories: SinkFactories;
  sinkBreakers: BreakerRegistry;
  endpointBreakers: BreakerRegistry;
  random: () => number;
  tracer: Tracer;
  instanceId: () => string;
  /** The breaker settings of each sink, read by the sink breakers' registry when it makes one. */
  sinkSettings: Map<string, SinkConfig>;
  /** Tells the engine which sink's breaker settings an endpoint's breaker takes (the first sink to use it). */
  noteEndpoint: (endpoint: string, config: SinkConfig) => void;
}

export class SinkRuntime {
  readonly account: OutboxAccount;
  readonly stats: SinkStats;
  readonly lock = new SerialLock();
  sink: Sink | undefined;
  dispatcher: SinkDispatcher | undefined;
  breaker: CircuitBreaker;
  endpoint: string | undefined;
  /** The last message queued (several routes of one sink may match a message: it is queued once). */
  lastMessageId = -1;

  constructor(
    public config: SinkConfig,
    private readonly env: RuntimeEnv,
  ) {
    this.account = new OutboxAccount({ maxMessages: config.maxOutboxMessages, maxBytes: config.maxOutboxBytes });
    this.stats = new SinkStats(env.clock);
    env.sinkSettings.set(config.name, config);
    this.breaker = env.sinkBreakers.get(config.name);
  }

  get name(): string {
    return this.config.name;
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Counters from the store: what the outbox holds, and how many dead letters. */
  async restore(stats: Map<string, OutboxStats>): Promise<void> {
    this.account.restore(stats.get(this.name));
    let n = 0;
    let after = 0;
    for (;;) {
      const page = await this.env.store.deadLetters(this.name, after, DEAD_LETTER_PAGE);
      n += page.length;
      if (page.length < DEAD_LETTER_PAGE) break;
      after = page[page.length - 1]!.messageId;
    }
    this.stats.deadLetters = n;
  }

  /** Makes the adapter (throws if this build has none for the kind). Does not connect: the dispatcher starts it. */
  create(): void {
    const factory = this.env.factories[this.config.kind];
    if (factory === undefined) {
      throw new HoldfastError('BRIDGE_SINK_UNAVAILABLE', `bridge sink "${this.name}": no sink of kind "${this.config.kind}" in this build`, {
        details: { sink: this.name, kind: this.config.kind },
      });
    }
    const sink = factory(this.config, { logger: this.env.logger.child({ sink: this.name }), clock: this.env.clock });
    this.sink = sink;
    const endpoint = (sink as Sink & { readonly endpoint?: unknown }).endpoint;
    this.endpoint = typeof endpoint === 'string' ? endpoint : undefined;
  }

  startDispatcher(): void {
    if (!this.enabled || this.sink === undefined) return;
    const e = this.env;
    if (this.endpoint !== undefined) e.noteEndpoint(this.endpoint, this.config);
    this.dispatcher = new SinkDispatcher({
      config: this.config,
      sink: this.sink,
      store: e.store,
      clock: e.clock,
      logger: e.logger,
      instanceId: e.instanceId(),
      account: this.account,
      stats: this.stats,
      lock: this.lock,
      breaker: this.breaker,
      endpointBreaker: this.endpoint === undefined ? undefined : e.endpointBreakers.get(this.endpoint),
      random: e.random,
      tracer: e.tracer,
    });
    this.dispatcher.start();
  }

  /** Stops the dispatcher and closes the adapter (bounded wait). */
  async stop(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.stop();
    const sink = this.sink;
    this.sink = undefined;
    if (sink === undefined) return;
    try {
      await runWithDeadline(undefined, CLOSE_TIMEOUT_MS, `bridge.${this.name}.close`, () => sink.close());
    } catch (err) {
      this.env.logger.warn({ err, sink: this.name }, 'bridge sink did not close cleanly');
    }
  }

  /** A new config for the same sink name: bounds take effect at once; the adapter is remade by the caller. */
  reconfigure(config: SinkConfig): void {
    this.config = config;
    this.account.bounds = { maxMessages: config.maxOutboxMessages, maxBytes: config.maxOutboxBytes };
    this.env.sinkBreakers.delete(config.name);
    this.env.sinkSettings.set(config.name, config);
    this.breaker = this.env.sinkBreakers.get(config.name);
  }

  status(now: number): SinkStatus {
    const c = this.config;
    const a = this.account;
    return {
      name: c.name,
      kind: c.kind,
      state: !c.enabled ? 'disabled' : (this.dispatcher?.state ?? 'stopped'),
      breaker: this.breaker.state,
      endpoint: this.endpoint === undefined ? undefined : { key: this.endpoint, breaker: this.env.endpointBreakers.peek(this.endpoint)?.state ?? 'closed' },
      outbox: {
        messages: a.count,
        bytes: a.bytes,
        oldestAgeMs: a.oldestAgeMs(now),
        maxMessages: a.bounds.maxMessages,
        maxBytes: a.bounds.maxBytes,
        whenFull: c.whenOutboxFull,
        full: a.full,
      },
      rates: this.stats.rates(),
      totals: { ...this.stats.totals },
      deadLetters: this.stats.deadLetters,
      lastError: this.stats.lastError,
    };
  }
}
