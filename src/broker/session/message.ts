/**
 * An application message inside the broker, and one delivery of it to one session.
 * Messages are immutable and shared by every delivery; a delivery carries what differs
 * per subscriber (granted QoS, retain flag, subscription identifiers, packet id).
 */
import type { Properties, QoS } from '../../codec/mqtt/packets.js';
import type { StoredMessage } from '../../ports/store.js';

export type Message = StoredMessage;

export interface Delivery {
  /** Order within the session. */
  readonly seq: number;
  readonly message: Message;
  /** min(published QoS, granted QoS) (MQTT-3.8.4-8... MQTT5 3.8.4). */
  readonly qos: QoS;
  /** Retain flag as sent: Retain As Published, or 1 for retained messages sent at subscribe. */
  readonly retain: boolean;
  /** Every matching subscription's identifier (MQTT5 3.3.4, MQTT-3.3.4-3). */
  readonly subscriptionIds: number[] | undefined;
  /** "group/filter" when delivered through a shared subscription. */
  readonly shareKey: string | undefined;
  packetId: number | undefined;
  /** QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP. */
  pubrel: boolean;
  /** Sent on the current connection (cleared on reconnect so it is resent with DUP). */
  sent: boolean;
  /**
   * QoS 2 to a persistent session: not sent before the store has committed it, so that a
   * crash cannot make the publisher resend (and us deliver) a message already delivered.
   */
  uncommitted?: boolean;
  /** When it was last sent (ms), for the acknowledgement latency histogram. */
  sentAt?: number;
}

/**
 * Payloads decoded from a socket chunk are views into that chunk. A message kept beyond
 * the current turn (queued, retained, stored) must not pin a 64 KiB chunk for a 10-byte
 * payload, so it gets its own copy when the view is much smaller than its backing buffer.
 */
export function ownPayload(payload: Buffer): Buffer {
  if (payload.byteOffset === 0 && payload.buffer.byteLength === payload.length) return payload;
  if (payload.buffer.byteLength <= 2 * payload.length + 256) return payload;
  return Buffer.from(payload);
}

/**
 * The properties of an inbound PUBLISH or a will that travel with the message to its
 * subscribers (MQTT-3.3.2-15..20). Message expiry becomes `expiresAt`; topic alias and
 * subscription identifiers are per connection / per subscription and never forwarded.
 */
export function forwardable(p: Properties | undefined): Properties | undefined {
  if (p === undefined) return undefined;
  const out: Properties = {};
  let any = false;
  if (p.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = p.payloadFormatIndicator;
    any = true;
  }
  if (p.contentType !== undefined) {
    out.contentType = p.contentType;
    any = true;
  }
  if (p.responseTopic !== undefined) {
    out.responseTopic = p.responseTopic;
    any = true;
  }
  if (p.correlationData !== undefined) {
    out.correlationData = p.correlationData;
    any = true;
  }
  if (p.userProperties !== undefined) {
    out.userProperties = p.userProperties;
    any = true;
  }
  return any ? out : undefined;
}
