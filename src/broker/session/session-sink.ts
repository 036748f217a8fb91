/**
 * What a session needs from the connection it is attached to. The channel implements it;
 * the session never sees a socket. Defined here (below the channel) so that imports point
 * downward.
 */
import type { QoS } from '../../codec/mqtt/packets.js';
import type { DisconnectCause } from '../hooks.js';
import type { Message } from './message.js';

/**
 * How the connection's outbound side is doing:
 * - 'ok': below the high-water mark.
 * - 'congested': above it but the peer is reading; publishers feeding it are slowed down.
 * - 'stalled': above it and no progress for stallDetectMs; it no longer slows anyone down,
 *   its QoS 0 traffic is dropped and its QoS 1/2 traffic queued until it is cut off.
 */
export type SinkPressure = 'ok' | 'congested' | 'stalled';

export interface SessionSink {
  /** Outbound Receive Maximum: QoS 1/2 publishes that may be unacknowledged at once. */
  readonly sendWindow: number;
  pressure(): SinkPressure;
  /**
   * Encodes and queues a PUBLISH. Returns false when the packet would exceed the client's
   * Maximum Packet Size: the message is then discarded as if sent (MQTT-3.1.2-25).
   */
  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    packetId: number,
    dup: boolean,
  ): boolean;
  sendPubrel(packetId: number, reasonCode: number): void;
  /** Server-side close of this connection (takeover, slow consumer, admin...). */
  disconnect(reasonCode: number, reason: string, cause: DisconnectCause): void;
}

/** Someone (a publishing connection) waiting for a congested session to drain. */
export interface PressureWaiter {
  /** `source` (a session) is congested: stop reading new publishes until it is relieved. */
  pressureApplied(source: object): void;
  pressureRelieved(source: object): void;
}
