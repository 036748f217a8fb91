/**
 * The bridge engine's public types: what it needs (deps, sink factories, device lookup)
 * and what it offers (status, dead letters, replay).
 */
import type { Tracer } from '../../ports/tracer.js';
import type { Hooks } from '../../broker/hooks.js';
import type { InternalHandler } from '../../broker/internal-subscriptions.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { Sink } from '../../ports/sink.js';
import type { Store } from '../../ports/store.js';
import type { BreakerState } from '../../resilience/index.js';
import type { BridgesConfig, SinkConfig } from './bridges-config.js';

export interface SinkContext {
  logger: Logger;
  clock: Clock;
}

/**
 * Makes the sink of one `bridges.sinks[]` entry. The map is keyed by `kind`; the
 * adapters in src/adapters/northbound/ provide them (http here; nats and postgres).
 * A sink may also carry `endpoint` (e.g. `http:host:port`): sinks sharing an endpoint
 * share a second breaker (per host).
 */
export type SinkFactory = (config: SinkConfig, ctx: SinkContext) => Sink;
export type SinkFactories = Readonly<Partial<Record<string, SinkFactory>>>;

export interface DeviceFacts {
  type: string;
  labels: Record<string, string>;
}

/** The device registry's view of a client id (undefined: not a known device). Must be synchronous and quick. */
export type DeviceInfo = (clientId: string) => DeviceFacts | undefined;

/** What the engine needs from the broker: its server-side subscriptions. */
export interface BridgeBroker {
  subscribeInternal(filter: string, handler: InternalHandler): () => void;
}

export interface BridgesDeps {
  broker: BridgeBroker;
  store: Store;
  config: BridgesConfig;
  logger: Logger;
  clock?: Clock;
  sinks: SinkFactories;
  deviceInfo?: DeviceInfo;
  /** Uniform in [0, 1) for the backoff jitter (tests). */
  random?: () => number;
  /** Client spans of the sinks' batches (bridge-trace.ts); none by default. */
  tracer?: Tracer;
}

export type DispatcherState = 'starting' | 'idle' | 'sending' | 'backoff' | 'open' | 'disabled' | 'stopped';

export interface SinkStatus {
  name: string;
  kind: string;
  state: DispatcherState;
  breaker: BreakerState;
  /** Sinks with an endpoint (http: the host) also have the endpoint's breaker. */
  endpoint: { key: string; breaker: BreakerState } | undefined;
  outbox: {
    messages: number;
    bytes: number;
    /** Age of the oldest waiting message (ms), 0 when empty. */
    oldestAgeMs: number;
    maxMessages: number;
    maxBytes: number;
    whenFull: 'refuse' | 'drop-oldest';
    full: boolean;
  };
  /** Per second over the last minute. */
  rates: { sentPerS: number; ackedPerS: number; failedPerS: number };
  totals: {
    enqueued: number;
    sent: number;
    acked: number;
    /** Per-message failures (retry or permanent outcomes) and messages of batches that failed as a whole. */
    failed: number;
    batches: number;
    batchFailures: number;
    deadLettered: number;
    replayed: number;
    /** QoS 1/2 publishes refused (0x97) because the outbox was full (policy refuse). */
    refused: number;
    /** QoS 0 messages not queued because the outbox was full (policy refuse). */
    droppedQos0: number;
    /** Oldest messages deleted to make room (policy drop-oldest). */
    droppedOldest: number;
  };
  deadLetters: number;
  lastError: { message: string; at: number } | undefined;
}

export interface BridgesStatus {
  instanceId: string;
  routes: number;
  sinks: SinkStatus[];
}

/** A dead letter as the admin API and the CLI show it. */
export interface DeadLetterView {
  sink: string;
  messageId: number;
  idempotencyKey: string;
  topic: string;
  publisherId: string | undefined;
  qos: number;
  retain: boolean;
  createdAt: number;
  failedAt: number;
  attempts: number;
  error: string;
  payloadBytes: number;
  payloadBase64: string;
}

export interface DeadLetterQuery {
  sink?: string;
  /** Paging: letters with a message id above this (default 0). */
  afterMessageId?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface DeadLetterPage {
  items: DeadLetterView[];
  /** Pass as afterMessageId for the next page; undefined on the last page. */
  next: number | undefined;
}

export interface ReplayRequest {
  sink?: string;
  /** Only these (with `sink`, or in any sink); default: the oldest `limit` letters. */
  messageIds?: readonly number[];
  /** Default 1000, at most 100,000. */
  limit?: number;
}

export interface ReplayResult {
  replayed: number;
  bySink: Record<string, number>;
}

export interface Bridges {
  /** For the broker: refuses QoS 1/2 publishes routed to a full outbox (policy refuse). */
  readonly hooks: Required<Pick<Hooks, 'admitPublish'>>;
  /** Call after broker.start() (the store is open) and before the listeners open. */
  start(): Promise<void>;
  /**
   * Stops the dispatchers (batches in flight are abandoned: sent again after a restart) and
   * closes the sinks. Routing goes on until the broker stops: call it before broker.close().
   */
  stop(): Promise<void>;
  status(): BridgesStatus;
  deadLetters(q?: DeadLetterQuery): Promise<DeadLetterPage>;
  /** Moves dead letters back to their sink's outbox (attempts reset). */
  replay(req?: ReplayRequest): Promise<ReplayResult>;
  /** Applies a new bridges section: routes swapped at once; changed sinks restarted; removed sinks stopped (their outbox stays on disk). */
  reload(config: BridgesConfig): Promise<void>;
}
