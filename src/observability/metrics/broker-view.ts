/**
 * The shape of the broker as the metrics, $SYS and SLO code read it. Observability must
 * not import the broker (layering), so this is a structural view: the Broker, its
 * BrokerStats and its Sessions satisfy it as they are.
 */
import type { HistogramView } from './scrape-metrics.js';

export interface BrokerStatsView {
  readonly connectionsAccepted: number;
  readonly connectionsRefused: number;
  readonly connectionsClosed: ReadonlyMap<string, number>;
  readonly serverReasonCodes: ReadonlyMap<number, number>;
  readonly connectsRefused: ReadonlyMap<number, number>;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly packetsInByType: ArrayLike<number>;
  readonly packetsOutByType: ArrayLike<number>;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly malformedPackets: number;
  readonly internalErrors: number;
  readonly messagesPublished: number;
  readonly messagesDelivered: number;
  readonly messagesNoSubscriber: number;
  readonly messagesDropped: ReadonlyMap<string, number>;
  readonly slowConsumersDisconnected: number;
  readonly backpressurePauses: number;
  readonly willsPublished: number;
  readonly sessionsExpired: number;
  readonly takeovers: number;
  readonly purgedRows: number;
  readonly publishToDeliver: HistogramView;
  readonly publishToDeliverQos12: HistogramView;
  readonly deliveryAckLatency: HistogramView;
}

export interface SessionView {
  readonly online: boolean;
  readonly queuedCount: number;
  readonly inflight: { readonly size: number };
}

export interface StoreView {
  readonly kind: string;
  stats(): { commits: number; commitFailures: number; rowsWritten: number; commitLatency: HistogramView | undefined };
  health(): { ok: true } | { ok: false; code: string; reason: string; since: number };
}

export interface BrokerView {
  readonly stats: BrokerStatsView;
  readonly connections: { readonly size: number };
  readonly sessions: ReadonlyMap<string, SessionView>;
  readonly router: {
    readonly retained: { readonly size: number };
    readonly trie: { readonly size: number };
    readonly shared: { readonly size: number; readonly groupCount: number };
  };
  readonly store: StoreView;
}

export interface SessionTotals {
  online: number;
  offline: number;
  queued: number;
  inflight: number;
}

/** One pass over the sessions (at scrape time, never per event). */
export function sessionTotals(sessions: ReadonlyMap<string, SessionView>): SessionTotals {
  const t: SessionTotals = { online: 0, offline: 0, queued: 0, inflight: 0 };
  for (const s of sessions.values()) {
    if (s.online) t.online++;
    else t.offline++;
    t.queued += s.queuedCount;
    t.inflight += s.inflight.size;
  }
  return t;
}

/** Subscriptions: plain ones, and members of shared subscriptions (the trie holds one entry per shared group). */
export function subscriptionCounts(router: BrokerView['router']): { plain: number; shared: number } {
  return { plain: Math.max(0, router.trie.size - router.shared.groupCount), shared: router.shared.size };
}
