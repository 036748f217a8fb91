/**
 * A will message waiting to be published (MQTT-3.1.2-8, MQTT5 3.1.3.2.2 Will Delay).
 */
import type { Properties, QoS } from '../../codec/mqtt/packets.js';

export interface PendingWill {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** ms since epoch when it is due. */
  readonly fireAt: number;
}
