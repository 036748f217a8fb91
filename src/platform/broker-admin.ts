/**
 * What the admin API shows of the broker itself: connected clients (and kicking them),
 * sessions, retained messages. Views computed on request, paged, never a copy of it all.
 */
import type { Broker } from '../broker/broker.js';
import { RC } from '../codec/mqtt/reason-codes.js';
import type { BrokerAdmin, ConnectedClientView } from './contracts.js';

const MAX_PAGE = 1000;

export class BrokerAdminView implements BrokerAdmin {
  constructor(private readonly broker: Broker) {}

  clients(limit: number, after?: string): ConnectedClientView[] {
    const out: ConnectedClientView[] = [];
    const n = Math.min(Math.max(1, limit), MAX_PAGE);
    for (const c of this.broker.connectedClients()) {
      if (after !== undefined && c.clientId <= after) continue;
      out.push({
        clientId: c.clientId,
        username: c.username,
        protocolVersion: c.protocolVersion,
        remoteAddress: c.remoteAddress,
        listener: c.listener,
      });
    }
    return out.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0)).slice(0, n);
  }

  kick(clientId: string): boolean {
    return this.broker.disconnectClient(clientId, RC.ADMINISTRATIVE_ACTION, 'Disconnected by an administrator');
  }

  sessions(limit: number, after?: string) {
    const n = Math.min(Math.max(1, limit), MAX_PAGE);
    const ids = [...this.broker.sessions.keys()].filter((id) => after === undefined || id > after).sort().slice(0, n);
    return ids.map((clientId) => {
      const s = this.broker.sessions.get(clientId)!;
      return {
        clientId,
        online: s.online,
        expiryIntervalS: s.expiryIntervalS,
        queued: s.queuedCount,
        inflight: s.inflight.size,
        subscriptions: s.subscriptions.size,
      };
    });
  }

  retained(filter: string, limit: number) {
    const out: { topic: string; payloadBase64: string; qos: number }[] = [];
    const n = Math.min(Math.max(1, limit), MAX_PAGE);
    for (const [topic, msg] of this.broker.router.retained.match(filter)) {
      out.push({ topic, payloadBase64: msg.payload.toString('base64'), qos: msg.qos });
      if (out.length >= n) break;
    }
    return out;
  }

  deleteRetained(topic: string): boolean {
    const index = this.broker.router.retained;
    if (!index.delete(topic)) return false;
    this.broker.store.deleteRetained(topic);
    return true;
  }
}
