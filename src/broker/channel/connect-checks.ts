/**
 * The CONNECT checks, as a pipeline of small pure functions (like EMQX's connect
 * pipeline): each either refuses with a reason code or contributes to the negotiated
 * parameters of the connection. Cheap checks come first; authentication (expensive,
 * asynchronous) runs only after all of these passed.
 */
import { isUtf8 } from 'node:buffer';
import type { ConnectPacket, Properties, ProtocolVersion } from '../../codec/mqtt/packets.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { BrokerConfig } from '../config.js';
import { isValidTopicName } from '../routing/index.js';
import { NEVER_EXPIRES } from '../session/session.js';
import { refuse, type Refusal } from './reasons.js';

export interface Negotiated {
  clientId: string;
  /** The server assigned the client id (MQTT-3.1.3-6, MQTT5 3.2.2.3.7). */
  assignedClientId: boolean;
  /** Keep alive in effect, seconds (0 = none). */
  keepaliveS: number;
  /** Set when it differs from what the client asked: sent as Server Keep Alive (MQTT5 3.2.2.3.14). */
  serverKeepAliveS: number | undefined;
  sessionExpiryS: number;
  /** Set when the server changed the requested Session Expiry Interval (MQTT5 3.2.2.3.2). */
  sessionExpiryOverride: number | undefined;
  /** Client's Receive Maximum (MQTT5 3.1.2.11.3), 65535 when absent. */
  clientReceiveMaximum: number;
  /** Client's Maximum Packet Size (MQTT5 3.1.2.11.4), Infinity when absent. */
  clientMaxPacketSize: number;
  /** Client's Topic Alias Maximum (MQTT5 3.1.2.11.5), 0 when absent. */
  clientTopicAliasMaximum: number;
  /** MQTT5 3.1.2.11.7: when 0, no Reason String or User Property except on CONNACK/DISCONNECT. */
  requestProblemInformation: boolean;
}

type Check = (p: ConnectPacket, cfg: BrokerConfig, n: Negotiated) => Refusal | undefined;

const checkClientId: Check = (p, cfg, n) => {
  if (p.clientId.length === 0) {
    if (p.protocolVersion === 3) return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'MQTT 3.1 requires a client identifier');
    if (p.protocolVersion === 4 && !p.clean) {
      // MQTT-3.1.3-8: zero-length id with CleanSession=0 gets return code 0x02.
      return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'A zero-length client identifier needs clean session 1');
    }
    if (!cfg.mqtt.allowEmptyClientId) return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'A client identifier is required');
    n.assignedClientId = true; // the caller fills in the id
    return undefined;
  }
  if (Buffer.byteLength(p.clientId) > cfg.mqtt.maxClientIdLength) {
    return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, `Client identifier longer than ${cfg.mqtt.maxClientIdLength} bytes`);
  }
  return undefined;
};

const checkWill: Check = (p, cfg) => {
  const will = p.will;
  if (will === undefined) return undefined;
  if (!isValidTopicName(will.topic, { maxLength: cfg.mqtt.maxTopicLengthBytes, maxLevels: cfg.mqtt.maxTopicLevels })) {
    return refuse(RC.TOPIC_NAME_INVALID, 'Will topic is not a valid topic name'); // MQTT-3.1.3-11
  }
  if (will.qos > cfg.mqtt.maximumQoS) return refuse(RC.QOS_NOT_SUPPORTED, 'Will QoS above Maximum QoS'); // MQTT-3.2.2-12
  if (will.retain && !cfg.mqtt.retainAvailable) return refuse(RC.RETAIN_NOT_SUPPORTED, 'Retain is not available'); // MQTT-3.2.2-13
  if (will.properties?.payloadFormatIndicator === 1 && !isUtf8(will.payload)) {
    return refuse(RC.PAYLOAD_FORMAT_INVALID, 'Will payload is not UTF-8');
  }
  return undefined;
};

const checkKeepAlive: Check = (p, cfg, n) => {
  const max = cfg.mqtt.maxKeepAliveS;
  if (p.protocolVersion === 5 && max > 0 && (p.keepalive === 0 || p.keepalive > max)) {
    // The contract: a v5 client asking for more than the maximum (or for none) is told the maximum.
    n.keepaliveS = max;
    n.serverKeepAliveS = max;
  } else {
    n.keepaliveS = p.keepalive;
  }
  return undefined;
};

const checkSessionExpiry: Check = (p, cfg, n) => {
  const max = cfg.mqtt.maxSessionExpiryS;
  if (p.protocolVersion === 5) {
    const asked = p.properties?.sessionExpiryInterval ?? 0;
    const capped = asked === NEVER_EXPIRES && max >= NEVER_EXPIRES ? asked : Math.min(asked, max);
    n.sessionExpiryS = capped;
    if (capped !== asked) n.sessionExpiryOverride = capped;
  } else {
    // 3.1.1: CleanSession=0 sessions last until the configured maximum expiry.
    n.sessionExpiryS = p.clean ? 0 : max;
  }
  return undefined;
};

const checkClientLimits: Check = (p, _cfg, n) => {
  const props: Properties | undefined = p.properties;
  if (props === undefined) return undefined;
  if (props.receiveMaximum !== undefined) n.clientReceiveMaximum = props.receiveMaximum;
  if (props.maximumPacketSize !== undefined) n.clientMaxPacketSize = props.maximumPacketSize;
  if (props.topicAliasMaximum !== undefined) n.clientTopicAliasMaximum = props.topicAliasMaximum;
  if (props.requestProblemInformation === 0) n.requestProblemInformation = false;
  return undefined;
};

const PIPELINE: readonly Check[] = [checkClientId, checkWill, checkKeepAlive, checkSessionExpiry, checkClientLimits];

export function negotiateConnect(p: ConnectPacket, cfg: BrokerConfig): Refusal | Negotiated {
  const n: Negotiated = {
    clientId: p.clientId,
    assignedClientId: false,
    keepaliveS: p.keepalive,
    serverKeepAliveS: undefined,
    sessionExpiryS: 0,
    sessionExpiryOverride: undefined,
    clientReceiveMaximum: 65535,
    clientMaxPacketSize: Infinity,
    clientTopicAliasMaximum: 0,
    requestProblemInformation: true,
  };
  for (const check of PIPELINE) {
    const r = check(p, cfg, n);
    if (r !== undefined) return r;
  }
  return n;
}

/** The CONNACK properties that advertise what this server supports (MQTT5 3.2.2.3). */
export function connackProperties(cfg: BrokerConfig, n: Negotiated, version: ProtocolVersion): Properties | undefined {
  if (version !== 5) return undefined;
  const m = cfg.mqtt;
  const props: Properties = {
    receiveMaximum: m.receiveMaximum,
    maximumPacketSize: m.maxPacketSizeBytes,
    topicAliasMaximum: m.topicAliasMaximum,
    retainAvailable: m.retainAvailable ? 1 : 0,
    wildcardSubscriptionAvailable: m.wildcardSubscriptionAvailable ? 1 : 0,
    subscriptionIdentifierAvailable: m.subscriptionIdentifierAvailable ? 1 : 0,
    sharedSubscriptionAvailable: m.sharedSubscriptionAvailable ? 1 : 0,
  };
  // Maximum QoS may only be sent as 0 or 1 (MQTT5 3.2.2.3.4); absent means 2.
  if (m.maximumQoS < 2) props.maximumQoS = m.maximumQoS;
  if (n.assignedClientId) props.assignedClientIdentifier = n.clientId;
  if (n.serverKeepAliveS !== undefined) props.serverKeepAlive = n.serverKeepAliveS;
  if (n.sessionExpiryOverride !== undefined) props.sessionExpiryInterval = n.sessionExpiryOverride;
  return props;
}
