/**
 * Start-up: rebuilds sessions, subscriptions, queued and inflight deliveries, inbound
 * QoS 2 ids, pending wills and retained messages from the store.
 */
import type { Broker } from './broker.js';
import { Session } from './session/session.js';

export async function restoreSessions(
  broker: Broker,
  now: number,
): Promise<{ sessions: number; retained: number; deliveries: number }> {
  let sessions = 0;
  let deliveries = 0;
  let retained = 0;
  for await (const snap of broker.store.loadSessions(broker.sessionLimits.maxInMemoryQueued)) {
    const s = snap.session;
    const session = new Session(
      s.clientId,
      s.expiryIntervalS,
      s.protocolVersion,
      broker.sessionLimits,
      broker.store,
      broker.stats,
      broker.clock,
    );
    session.username = s.username;
    // A session that was connected when the process stopped counts as disconnected now.
    session.disconnectedAt = s.disconnectedAt ?? now;
    for (const sub of snap.subscriptions) session.restoreSubscription(sub);
    broker.router.indexAll(session);
    for (const { delivery, message } of snap.deliveries) {
      session.restoreDelivery({
        seq: delivery.seq,
        message,
        qos: delivery.qos,
        retain: delivery.retain,
        subscriptionIds: delivery.subscriptionIds ? [...delivery.subscriptionIds] : undefined,
        shareKey: delivery.shareKey,
        packetId: delivery.packetId,
        pubrel: delivery.pubrel,
        sent: false,
      });
      deliveries++;
    }
    // New deliveries continue after the highest stored seq, even the ones left on disk.
    session.restoreSpilled(snap.moreDeliveries, snap.lastSeq);
    deliveries += snap.moreDeliveries;
    for (const id of snap.inboundQos2) session.restoreInboundQos2(id);
    if (snap.will) session.will = snap.will;
    broker.sessions.set(s.clientId, session);
    broker.scheduleTimers(session, now);
    sessions++;
  }
  for await (const msg of broker.store.loadRetained()) {
    broker.router.retained.set(msg.topic, msg);
    retained++;
  }
  return { sessions, retained, deliveries };
}
