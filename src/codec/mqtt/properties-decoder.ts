/**
 * Decoding of an MQTT 5 property section (MQTT5 2.2.2): Property Length, then
 * identifier/value pairs. Context-free rules are checked here:
 * - an identifier that does not exist or is not allowed in this packet: Malformed
 *   (MQTT5 2.2.2.2);
 * - a property other than User Property (and Subscription Identifier in PUBLISH) given
 *   twice: Protocol Error (MQTT5 2.2.2.2 and each property's own text);
 * - values the spec calls a Protocol Error: 0 for Receive Maximum (3.1.2.11.3,
 *   3.2.2.3.3), Maximum Packet Size (3.1.2.11.4, 3.2.2.3.6), Topic Alias (3.3.2.3.4, with 0x94) and
 *   Subscription Identifier (3.3.2.3.8, 3.8.2.1.2); byte flags other than 0/1
 *   (3.1.2.11.6/7, 3.2.2.3.4-3.2.2.3.13, 3.3.2.3.2).
 */
import { CodecError, protocolError, malformed } from './codec-error.js';
import type { Properties, UserProperty } from './packets.js';
import type { PacketReader } from './packet-reader.js';
import { RC } from './reason-codes.js';
import { PROPERTY_BY_ID, PROPERTY_SEEN_BIT, CTX_WILL } from './property-table.js';

const PUBLISH_CTX = 1 << 3;

function flag(r: PacketReader, name: string): number {
  const v = r.u8(name);
  if (v > 1) throw protocolError(r.type, `${name} must be 0 or 1, got ${v}`);
  return v;
}

function nonZero(r: PacketReader, name: string, v: number, rule: string): number {
  if (v === 0) throw protocolError(r.type, `${name} of 0 is a Protocol Error (${rule})`);
  return v;
}

/**
 * Read a property section at the reader's position. `ctx` is 1 << packetType, or
 * CTX_WILL for the Will Properties of CONNECT. Always returns an object (empty when the
 * section is empty) so that a decoded v5 packet is recognisable by its `properties`.
 */
export function readProperties(r: PacketReader, ctx: number): Properties {
  const len = r.varint('property length');
  const props: Properties = {};
  if (len === 0) return props;
  const end = r.pos + len;
  if (end > r.end) throw malformed(r.type, `property length ${len} runs past the end of the ${r.scope}`);
  const outerEnd = r.end;
  const outerScope = r.scope;
  r.end = end;
  r.scope = 'property section';
  let seen = 0;
  while (r.pos < end) {
    const id = r.u8('property identifier');
    const def = id < PROPERTY_BY_ID.length ? PROPERTY_BY_ID[id] : undefined;
    if (def === undefined) {
      throw malformed(r.type, `unknown property identifier 0x${id.toString(16)} (MQTT5 2.2.2.2)`);
    }
    if ((def.allowed & ctx) === 0) {
      const where = ctx === CTX_WILL ? 'Will Properties' : 'this packet';
      throw malformed(r.type, `property ${def.name} (0x${id.toString(16)}) is not allowed in ${where} (MQTT5 2.2.2.2)`);
    }
    const bit = PROPERTY_SEEN_BIT[id];
    if ((seen & bit) !== 0 && id !== 0x26 && !(id === 0x0b && ctx === PUBLISH_CTX)) {
      throw protocolError(r.type, `property ${def.name} (0x${id.toString(16)}) included more than once (MQTT5 2.2.2.2)`);
    }
    seen |= bit;
    switch (id) {
      case 0x01: props.payloadFormatIndicator = flag(r, 'payload format indicator'); break;
      case 0x02: props.messageExpiryInterval = r.u32('message expiry interval'); break;
      case 0x03: props.contentType = r.utf8('content type'); break;
      case 0x08: props.responseTopic = r.utf8('response topic'); break;
      case 0x09: props.correlationData = r.binary('correlation data'); break;
      case 0x0b: {
        const v = nonZero(r, 'subscription identifier', r.varint('subscription identifier'), 'MQTT5 3.3.2.3.8');
        if (props.subscriptionIdentifiers === undefined) props.subscriptionIdentifiers = [v];
        else props.subscriptionIdentifiers.push(v);
        break;
      }
      case 0x11: props.sessionExpiryInterval = r.u32('session expiry interval'); break;
      case 0x12: props.assignedClientIdentifier = r.utf8('assigned client identifier'); break;
      case 0x13: props.serverKeepAlive = r.u16('server keep alive'); break;
      case 0x15: props.authenticationMethod = r.utf8('authentication method'); break;
      case 0x16: props.authenticationData = r.binary('authentication data'); break;
      case 0x17: props.requestProblemInformation = flag(r, 'request problem information'); break;
      case 0x18: props.willDelayInterval = r.u32('will delay interval'); break;
      case 0x19: props.requestResponseInformation = flag(r, 'request response information'); break;
      case 0x1a: props.responseInformation = r.utf8('response information'); break;
      case 0x1c: props.serverReference = r.utf8('server reference'); break;
      case 0x1f: props.reasonString = r.utf8('reason string'); break;
      case 0x21:
        props.receiveMaximum = nonZero(r, 'receive maximum', r.u16('receive maximum'), 'MQTT5 3.1.2.11.3, 3.2.2.3.3');
        break;
      case 0x22: props.topicAliasMaximum = r.u16('topic alias maximum'); break;
      case 0x23: {
        const v = r.u16('topic alias');
        // MQTT-3.3.2-8 / MQTT5 3.3.4: a Topic Alias of 0 is answered with 0x94 Topic Alias invalid.
        if (v === 0) throw new CodecError('CODEC_PROTOCOL_ERROR', 'PUBLISH: topic alias of 0 is invalid (MQTT-3.3.2-8)', RC.TOPIC_ALIAS_INVALID, { packetType: r.type });
        props.topicAlias = v;
        break;
      }
      case 0x24: props.maximumQoS = flag(r, 'maximum QoS'); break;
      case 0x25: props.retainAvailable = flag(r, 'retain available'); break;
      case 0x26: {
        const pair: UserProperty = [r.utf8('user property name'), r.utf8('user property value')];
        if (props.userProperties === undefined) props.userProperties = [pair];
        else props.userProperties.push(pair);
        break;
      }
      case 0x27:
        props.maximumPacketSize = nonZero(
          r, 'maximum packet size', r.u32('maximum packet size'), 'MQTT5 3.1.2.11.4, 3.2.2.3.6',
        );
        break;
      case 0x28: props.wildcardSubscriptionAvailable = flag(r, 'wildcard subscription available'); break;
      case 0x29: props.subscriptionIdentifierAvailable = flag(r, 'subscription identifier available'); break;
      case 0x2a: props.sharedSubscriptionAvailable = flag(r, 'shared subscription available'); break;
    }
  }
  r.end = outerEnd;
  r.scope = outerScope;
  return props;
}
