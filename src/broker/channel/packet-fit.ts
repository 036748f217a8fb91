/**
 * Making a packet fit the client's Maximum Packet Size (MQTT-3.1.2-24/25, MQTT-3.2.2-19/20)
 * and its Request Problem Information choice (MQTT-3.1.2-29): what may be dropped, in order.
 */
import type { ConnackPacket, Packet, Properties } from '../../codec/mqtt/packets.js';

export function withoutProblemInfo(p: Packet): Packet {
  const props = (p as { properties?: Properties }).properties;
  if (props === undefined || (props.reasonString === undefined && props.userProperties === undefined)) return p;
  const { reasonString: _r, userProperties: _u, ...rest } = props;
  return { ...p, properties: rest } as Packet;
}

/** A CONNACK with only what the client cannot do without (MQTT-3.2.2-19/20: the rest have defaults). */
export function minimalConnack(p: ConnackPacket): ConnackPacket {
  const props = p.properties ?? {};
  const keep: Properties = {};
  if (props.assignedClientIdentifier !== undefined) keep.assignedClientIdentifier = props.assignedClientIdentifier;
  if (props.serverKeepAlive !== undefined) keep.serverKeepAlive = props.serverKeepAlive;
  if (props.sessionExpiryInterval !== undefined) keep.sessionExpiryInterval = props.sessionExpiryInterval;
  if (props.authenticationMethod !== undefined) keep.authenticationMethod = props.authenticationMethod;
  return { ...p, properties: keep };
}
