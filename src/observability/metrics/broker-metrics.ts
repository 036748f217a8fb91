/**
 * The broker's Prometheus metrics (docs/observability.md lists them): every value is read
 * at scrape time from BrokerStats, the session registry, the router and the store. Labels
 * are bounded enums (packet type, drop reason, close cause, reason code, session state),
 * never a client id or a topic.
 */
import type { Registry } from 'prom-client';
import { sessionTotals, subscriptionCounts, type BrokerView, type SessionTotals } from './broker-view.js';
import { scrapeCounter, scrapeGauge, scrapeHistogram, type LabelSet } from './scrape-metrics.js';

/** MQTT control packet types by number (MQTT-2.1.2, table 2-1). */
export const PACKET_TYPES = [
  '', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
  'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth',
] as const;

function byType(counts: ArrayLike<number>): Array<[LabelSet, number]> {
  const out: Array<[LabelSet, number]> = [];
  for (let t = 1; t < PACKET_TYPES.length; t++) out.push([{ type: PACKET_TYPES[t]! }, counts[t] ?? 0]);
  return out;
}

function mapSeries<K>(m: ReadonlyMap<K, number>, label: string, name: (k: K) => string = String): Array<[LabelSet, number]> {
  return [...m].map(([k, v]) => [{ [label]: name(k) }, v]);
}

export const hexCode = (c: number): string => `0x${c.toString(16).padStart(2, '0')}`;

/** Registers the broker metrics in `registry`. */
export function registerBrokerMetrics(registry: Registry, broker: BrokerView): void {
  const s = broker.stats;
  // The session pass is shared by the gauges of one scrape.
  let cached: { at: number; totals: SessionTotals } | undefined;
  // One pass over the sessions per scrape: the gauges of one scrape share it, the next scrape
  // (a later turn of the event loop) computes afresh.
  const totals = (): SessionTotals => {
    if (cached === undefined) {
      cached = { at: Date.now(), totals: sessionTotals(broker.sessions) };
      setImmediate(() => (cached = undefined));
    }
    return cached.totals;
  };

  // ---- connections
  scrapeGauge(registry, { name: 'holdfast_connections', help: 'Open network connections (MQTT over TCP, TLS, WebSocket).', read: () => broker.connections.size });
  scrapeCounter(registry, { name: 'holdfast_connects_accepted_total', help: 'CONNECTs accepted (CONNACK 0x00).', read: () => s.connectionsAccepted });
  scrapeCounter(registry, {
    name: 'holdfast_connects_refused_total',
    help: 'CONNECTs received and refused, by MQTT 5 reason code.',
    labelNames: ['reason_code'],
    read: () => mapSeries(s.connectsRefused, 'reason_code', hexCode),
  });
  scrapeCounter(registry, {
    name: 'holdfast_connections_refused_total',
    help: 'Sockets refused before any MQTT exchange (server stopping).',
    read: () => s.connectionsRefused,
  });
  scrapeCounter(registry, {
    name: 'holdfast_connections_closed_total',
    help: 'Connections closed, by cause.',
    labelNames: ['cause'],
    read: () => mapSeries(s.connectionsClosed, 'cause'),
  });
  scrapeCounter(registry, {
    name: 'holdfast_server_reason_codes_total',
    help: 'Failure reason codes sent by the server (CONNACK refusals and DISCONNECTs), by code.',
    labelNames: ['reason_code'],
    read: () => mapSeries(s.serverReasonCodes, 'reason_code', hexCode),
  });

  // ---- packets and bytes
  scrapeCounter(registry, { name: 'holdfast_packets_received_total', help: 'MQTT packets received, by type.', labelNames: ['type'], read: () => byType(s.packetsInByType) });
  scrapeCounter(registry, { name: 'holdfast_packets_sent_total', help: 'MQTT packets sent, by type.', labelNames: ['type'], read: () => byType(s.packetsOutByType) });
  scrapeCounter(registry, { name: 'holdfast_bytes_received_total', help: 'Bytes received on MQTT connections.', read: () => s.bytesIn });
  scrapeCounter(registry, { name: 'holdfast_bytes_sent_total', help: 'Bytes sent on MQTT connections.', read: () => s.bytesOut });
  scrapeCounter(registry, { name: 'holdfast_malformed_packets_total', help: 'Packets refused as malformed or protocol violations.', read: () => s.malformedPackets });
  scrapeCounter(registry, { name: 'holdfast_internal_errors_total', help: 'Exceptions caught at a connection boundary (bugs; the connection is closed).', read: () => s.internalErrors });

  // ---- messages
  scrapeCounter(registry, { name: 'holdfast_messages_published_total', help: 'Application messages accepted for routing (clients, wills, $SYS).', read: () => s.messagesPublished });
  scrapeCounter(registry, {
    name: 'holdfast_messages_delivered_total',
    help: 'Message copies delivered: QoS 0 sent, QoS 1/2 acknowledged.',
    read: () => s.messagesDelivered,
  });
  scrapeCounter(registry, {
    name: 'holdfast_messages_dropped_total',
    help: 'Messages (or copies) dropped, by reason; no-subscriber counts published messages that matched nobody.',
    labelNames: ['reason'],
    read: () => [...mapSeries(s.messagesDropped, 'reason'), [{ reason: 'no-subscriber' }, s.messagesNoSubscriber] as [LabelSet, number]],
  });
  scrapeGauge(registry, { name: 'holdfast_inflight_messages', help: 'Outbound QoS 1/2 messages sent and not yet acknowledged.', read: () => totals().inflight });
  scrapeGauge(registry, { name: 'holdfast_queued_messages', help: 'Messages queued for sessions (online and offline, in memory and spilled).', read: () => totals().queued });
  scrapeGauge(registry, { name: 'holdfast_retained_messages', help: 'Retained messages.', read: () => broker.router.retained.size });
  scrapeGauge(registry, {
    name: 'holdfast_sessions',
    help: 'Sessions, by state.',
    labelNames: ['state'],
    read: () => {
      const t = totals();
      return [[{ state: 'online' }, t.online], [{ state: 'offline' }, t.offline]];
    },
  });
  scrapeGauge(registry, {
    name: 'holdfast_subscriptions',
    help: 'Subscriptions: plain, and memberships of shared subscriptions.',
    labelNames: ['kind'],
    read: () => {
      const c = subscriptionCounts(broker.router);
      return [[{ kind: 'plain' }, c.plain], [{ kind: 'shared' }, c.shared]];
    },
  });
  scrapeCounter(registry, { name: 'holdfast_slow_consumers_disconnected_total', help: 'Subscribers disconnected for not keeping up (v5 0x97).', read: () => s.slowConsumersDisconnected });
  scrapeCounter(registry, { name: 'holdfast_backpressure_pauses_total', help: 'Times a publisher was paused for a congested subscriber.', read: () => s.backpressurePauses });
  scrapeCounter(registry, { name: 'holdfast_wills_published_total', help: 'Will messages published.', read: () => s.willsPublished });
  scrapeCounter(registry, { name: 'holdfast_sessions_expired_total', help: 'Sessions ended by their expiry interval.', read: () => s.sessionsExpired });
  scrapeCounter(registry, { name: 'holdfast_session_takeovers_total', help: 'Sessions taken over by a new connection with the same client id.', read: () => s.takeovers });

  // ---- latency
  scrapeHistogram(registry, {
    name: 'holdfast_publish_to_deliver_seconds',
    help: 'From receipt of a PUBLISH to the first send of each copy, by QoS class.',
    labelNames: ['qos'],
    read: () => [[{ qos: '0' }, qos0Only(s.publishToDeliver, s.publishToDeliverQos12)], [{ qos: '1+' }, s.publishToDeliverQos12]],
  });
  scrapeHistogram(registry, { name: 'holdfast_delivery_ack_seconds', help: 'QoS 1/2 deliveries: from send to PUBACK / PUBCOMP.', read: () => s.deliveryAckLatency });

  // ---- store
  scrapeCounter(registry, { name: 'holdfast_store_commits_total', help: 'Group commits of the store.', read: () => broker.store.stats().commits });
  scrapeCounter(registry, { name: 'holdfast_store_commit_failures_total', help: 'Failed store commits (each retried).', read: () => broker.store.stats().commitFailures });
  scrapeCounter(registry, { name: 'holdfast_store_rows_written_total', help: 'Rows written by store commits.', read: () => broker.store.stats().rowsWritten });
  scrapeHistogram(registry, { name: 'holdfast_store_commit_seconds', help: 'Duration of one group commit.', read: () => broker.store.stats().commitLatency });
  scrapeGauge(registry, {
    name: 'holdfast_store_writable',
    help: '1 when store writes succeed, 0 while they fail (QoS 1/2 publishes are refused meanwhile).',
    read: () => (broker.store.health().ok ? 1 : 0),
  });
  scrapeCounter(registry, { name: 'holdfast_store_purged_rows_total', help: 'Rows removed by the background purge.', read: () => s.purgedRows });
}

/** The QoS 0 share of an all-QoS histogram, given its QoS 1/2 part (same bounds). */
function qos0Only(all: BrokerView['stats']['publishToDeliver'], q12: BrokerView['stats']['publishToDeliver']) {
  return {
    bounds: all.bounds,
    get sum() {
      return all.sum - q12.sum;
    },
    get count() {
      return all.count - q12.count;
    },
    cumulative: () => {
      const a = all.cumulative();
      const b = q12.cumulative();
      return a.map((v, i) => v - (b[i] ?? 0));
    },
  };
}
