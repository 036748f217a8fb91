/**
 * A northbound sink (issue 9): somewhere messages are delivered after the broker has
 * acknowledged them (HTTP webhook, NATS JetStream, PostgreSQL). The bridge engine reads a
 * sink's durable outbox in batches and hands each batch to `send`, in message order; the
 * sink reports per message whether it arrived, must be retried, or was refused for good
 * (then it goes to the dead letters). Delivery is at least once: every message carries a
 * stable idempotency key so that the sink side can drop duplicates.
 */
import type { Properties, QoS } from '../codec/mqtt/packets.js';

export interface SinkMessage {
  /** The broker's message id: stable across retries and restarts. */
  readonly messageId: number;
  /** `${brokerId}-${messageId}`: what the sink dedupes on (HTTP header, Nats-Msg-Id, primary key). */
  readonly idempotencyKey: string;
  readonly topic: string;
  /** The body to send: the payload, or the route's template applied to it. */
  readonly body: Buffer;
  readonly qos: QoS;
  readonly publisherId: string | undefined;
  readonly properties: Properties | undefined;
  readonly createdAt: number;
  /** 1 for the first try. */
  readonly attempt: number;
}

export type SinkOutcome =
  | { readonly status: 'ok' }
  /** A transient failure (timeout, 5xx, connection refused): tried again with backoff. */
  | { readonly status: 'retry'; readonly error: string }
  /** Refused for good (4xx, schema error): to the dead letters (after the configured attempts). */
  | { readonly status: 'permanent'; readonly error: string };

export interface Sink {
  readonly name: string;
  /** 'http' | 'nats' | 'postgres' */
  readonly kind: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /**
   * Delivers a batch (ordered). Returns one outcome per message, in the same order. A
   * rejection means the whole batch failed transiently (e.g. the sink is unreachable).
   * Must honour `signal` (the batch deadline).
   */
  send(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]>;
}
