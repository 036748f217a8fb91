/**
 * The broker's own counters, kept as plain numbers on the hot path. The observability
 * layer reads them to export Prometheus metrics; tests read them to see what a policy did.
 * Labels are bounded enums, never client ids or topics.
 */
import { Histogram, LATENCY_BUCKETS_S } from '../observability/histogram.js';
import type { DisconnectCause } from './hooks.js';

export type DropReason =
  | 'queue-full'
  | 'expired'
  | 'acl-denied'
  | 'slow-consumer'
  | 'packet-too-large'
  | 'session-ended'
  | 'retained-limit'
  | 'store-unavailable'
  | 'publish-refused';

export class BrokerStats {
  connectionsAccepted = 0;
  connectionsRefused = 0;
  readonly connectionsClosed = new Map<DisconnectCause, number>();
  /** Server-sent DISCONNECT / CONNACK failure codes, by reason code. */
  readonly serverReasonCodes = new Map<number, number>();
  /** CONNECTs received and not accepted, by (v5) reason code: the failed attempts of the availability SLO. */
  readonly connectsRefused = new Map<number, number>();
  packetsIn = 0;
  packetsOut = 0;
  /** Packets by control packet type (index 1..15). */
  readonly packetsInByType = new Float64Array(16);
  readonly packetsOutByType = new Float64Array(16);
  /** From the broker's receipt of a PUBLISH to the first send of each copy (seconds). */
  readonly publishToDeliver = new Histogram(LATENCY_BUCKETS_S);
  /** The same for QoS 1/2 copies only (the latency SLO). */
  readonly publishToDeliverQos12 = new Histogram(LATENCY_BUCKETS_S);
  /** QoS 1/2 deliveries: from send to PUBACK/PUBCOMP (seconds). */
  readonly deliveryAckLatency = new Histogram(LATENCY_BUCKETS_S);
  bytesIn = 0;
  bytesOut = 0;
  /** Packets refused as malformed or as protocol violations (by the decoder or the channel). */
  malformedPackets = 0;
  /** Exceptions caught at a connection boundary (bugs): the connection is closed, the process lives. */
  internalErrors = 0;
  messagesPublished = 0;
  messagesDelivered = 0;
  messagesNoSubscriber = 0;
  readonly messagesDropped = new Map<DropReason, number>();
  slowConsumersDisconnected = 0;
  backpressurePauses = 0;
  willsPublished = 0;
  sessionsExpired = 0;
  takeovers = 0;
  /** Times a client went over its publish or byte rate (throttled or disconnected). */
  rateLimited = 0;
  /** Times reading publishes stopped because the broker shed load (overload level 2). */
  overloadPauses = 0;
  /** Rows removed by the background purge (expired deliveries, orphan messages, expired retained). */
  purgedRows = 0;

  drop(reason: DropReason, n = 1): void {
    this.messagesDropped.set(reason, (this.messagesDropped.get(reason) ?? 0) + n);
  }

  dropped(reason: DropReason): number {
    return this.messagesDropped.get(reason) ?? 0;
  }

  closed(cause: DisconnectCause): void {
    this.connectionsClosed.set(cause, (this.connectionsClosed.get(cause) ?? 0) + 1);
  }

  reasonCode(code: number): void {
    this.serverReasonCodes.set(code, (this.serverReasonCodes.get(code) ?? 0) + 1);
  }

  connectRefused(code: number): void {
    this.connectsRefused.set(code, (this.connectsRefused.get(code) ?? 0) + 1);
  }
}
