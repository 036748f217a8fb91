/**
 * Whether a device is connected now, as the shadows and commands need it.
 *
 * Broker.connectedClient(id) returns the session's ClientInfo, which an offline persistent
 * session keeps from its last connection: it would make an offline device look connected
 * (and a publish to it would only land in its session queue). The session's sink is what
 * says a connection is attached, as Broker.connectedClients() checks.
 */
import type { Broker } from '../../broker/broker.js';
import type { ClientInfo } from '../../broker/hooks.js';

export type OnlineView = Pick<Broker, 'sessions'>;

export function onlineClient(broker: OnlineView, deviceId: string): ClientInfo | undefined {
  const s = broker.sessions.get(deviceId);
  return s !== undefined && s.sink !== null ? s.client : undefined;
}
