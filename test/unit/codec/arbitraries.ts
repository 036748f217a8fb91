/**
 * fast-check arbitraries of valid MQTT packets (the packet model of
 * src/codec/mqtt/packets.ts), for codec round trips and for anyone else who needs
 * realistic packets (channel, session, routing tests).
 *
 * Shape conventions, matching what the decoder returns so that round trips compare with
 * toEqual: a v5 packet always has `properties` (possibly {}), a 3.1/3.1.1 packet never
 * does; acks always carry `reasonCode` (0 before v5); SUBSCRIBE options are
 * false/false/0 before v5; UNSUBACK has no reason codes before v5.
 *
 * The table of which property goes in which packet is written out again here from
 * MQTT5 table 2-4 on purpose: tests must not share the implementation's table.
 */
import fc from 'fast-check';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  UserProperty,
} from '../../../src/codec/mqtt/packets.js';

/** A string that is valid in MQTT (well-formed UTF-8, no U+0000): ASCII-heavy, some full Unicode. */
export function mqttString(maxLength = 16): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    )
    .filter((s) => !s.includes('\u0000'));
}

export const nonEmptyMqttString = (maxLength = 16): fc.Arbitrary<string> =>
  mqttString(maxLength).filter((s) => s.length > 0);

export const bytes = (maxLength = 32): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

export const qos = (): fc.Arbitrary<QoS> => fc.constantFrom<QoS>(0, 1, 2);
export const packetId = (): fc.Arbitrary<number> => fc.integer({ min: 1, max: 0xffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const flag = fc.constantFrom(0, 1);

export const userProperties = (): fc.Arbitrary<UserProperty[]> =>
  fc.array(
    fc.tuple(mqttString(8), mqttString(8)).map((t): UserProperty => [t[0], t[1]]),
    { minLength: 1, maxLength: 4 },
  );

/** Valid values of every property (MQTT5 2.2.2.2 and the rules on 0/1 and non-zero values). */
const PROPERTY_ARBS: { [K in keyof Properties]-?: fc.Arbitrary<NonNullable<Properties[K]>> } = {
  payloadFormatIndicator: flag,
  messageExpiryInterval: u32,
  contentType: mqttString(),
  responseTopic: mqttString(),
  correlationData: bytes(16),
  subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: 3 }),
  sessionExpiryInterval: u32,
  assignedClientIdentifier: mqttString(),
  serverKeepAlive: u16,
  authenticationMethod: mqttString(),
  authenticationData: bytes(16),
  requestProblemInformation: flag,
  willDelayInterval: u32,
  requestResponseInformation: flag,
  responseInformation: mqttString(),
  serverReference: mqttString(),
  reasonString: mqttString(),
  receiveMaximum: fc.integer({ min: 1, max: 0xffff }),
  topicAliasMaximum: u16,
  topicAlias: fc.integer({ min: 1, max: 0xffff }),
  maximumQoS: flag,
  retainAvailable: flag,
  userProperties: userProperties(),
  maximumPacketSize: fc.integer({ min: 1, max: 0xffffffff }),
  wildcardSubscriptionAvailable: flag,
  subscriptionIdentifierAvailable: flag,
  sharedSubscriptionAvailable: flag,
};

type PropName = keyof Properties;
const ACK_PROPS: PropName[] = ['reasonString', 'userProperties'];

/** MQTT5 table 2-4, per packet (and 'will' for the Will Properties). */
export const ALLOWED_PROPERTIES: Record<string, PropName[]> = {
  connect: [
    'sessionExpiryInterval', 'authenticationMethod', 'authenticationData', 'requestProblemInformation',
    'requestResponseInformation', 'receiveMaximum', 'topicAliasMaximum', 'userProperties', 'maximumPacketSize',
  ],
  will: [
    'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData',
    'willDelayInterval', 'userProperties',
  ],
  connack: [
    'sessionExpiryInterval', 'assignedClientIdentifier', 'serverKeepAlive', 'authenticationMethod',
    'authenticationData', 'responseInformation', 'serverReference', 'reasonString', 'receiveMaximum',
    'topicAliasMaximum', 'maximumQoS', 'retainAvailable', 'userProperties', 'maximumPacketSize',
    'wildcardSubscriptionAvailable', 'subscriptionIdentifierAvailable', 'sharedSubscriptionAvailable',
  ],
  publish: [
    'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData',
    'subscriptionIdentifiers', 'topicAlias', 'userProperties',
  ],
  puback: ACK_PROPS,
  pubrec: ACK_PROPS,
  pubrel: ACK_PROPS,
  pubcomp: ACK_PROPS,
  subscribe: ['subscriptionIdentifiers', 'userProperties'],
  suback: ACK_PROPS,
  unsubscribe: ['userProperties'],
  unsuback: ACK_PROPS,
  disconnect: ['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
};

/** Any subset of the properties allowed in `context` (a key of ALLOWED_PROPERTIES). */
export function properties(context: string): fc.Arbitrary<Properties> {
  const names = ALLOWED_PROPERTIES[context];
  if (names === undefined) throw new Error(`unknown property context ${context}`);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) {
    model[name] =
      name === 'subscriptionIdentifiers' && context === 'subscribe'
        ? fc.integer({ min: 1, max: 268_435_455 }).map((n) => [n]) // one only in SUBSCRIBE (MQTT5 3.8.2.1.2)
        : PROPERTY_ARBS[name];
  }
  return fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Properties>;
}

const propsFor = (version: ProtocolVersion, context: string): fc.Arbitrary<Properties | undefined> =>
  version === 5 ? properties(context) : fc.constant(undefined);

/** Drop keys whose value is undefined so that objects compare with toStrictEqual too. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export function connectPacket(version: ProtocolVersion): fc.Arbitrary<ConnectPacket> {
  const will = fc.record({
    topic: mqttString(),
    payload: bytes(),
    qos: qos(),
    retain: fc.boolean(),
    properties: propsFor(version, 'will'),
  });
  return fc
    .record({
      clean: fc.boolean(),
      keepalive: u16,
      clientId: mqttString(23),
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(bytes(16), { nil: undefined }),
      will: fc.option(will, { nil: undefined }),
      properties: propsFor(version, 'connect'),
    })
    .map((r) => {
      // MQTT-3.1.2-22: before v5 a password needs a user name.
      const password = version !== 5 && r.username === undefined ? undefined : r.password;
      return compact({
        type: 1 as const,
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        clean: r.clean,
        keepalive: r.keepalive,
        clientId: r.clientId,
        username: r.username,
        password,
        will: r.will === undefined ? undefined : compact(r.will),
        properties: r.properties,
      });
    });
}

/** MQTT5 3.2.2.2 reason codes; 3.1.1 return codes 0-5. */
export const CONNACK_REASON_CODES = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9f,
];
export const PUBACK_REASON_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
export const PUBREL_REASON_CODES = [0x00, 0x92];
export const SUBACK_REASON_CODES = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
export const UNSUBACK_REASON_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
export const DISCONNECT_REASON_CODES = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];
export const AUTH_REASON_CODES = [0x00, 0x18, 0x19];

export function connackPacket(version: ProtocolVersion): fc.Arbitrary<ConnackPacket> {
  return fc
    .record({
      sessionPresent: fc.boolean(),
      reasonCode: version === 5 ? fc.constantFrom(...CONNACK_REASON_CODES) : fc.integer({ min: 0, max: 5 }),
      properties: propsFor(version, 'connack'),
    })
    .map((r) => compact({ type: 2 as const, ...r }));
}

export function publishPacket(version: ProtocolVersion, payload = bytes(64)): fc.Arbitrary<PublishPacket> {
  return fc
    .record({
      topic: mqttString(24),
      payload,
      qos: qos(),
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId: packetId(),
      properties: propsFor(version, 'publish'),
    })
    .map((r) => compact({ type: 3 as const, ...r, packetId: r.qos > 0 ? r.packetId : undefined }));
}

export function ackPacket(version: ProtocolVersion, type: 4 | 5 | 6 | 7): fc.Arbitrary<AckPacket> {
  const codes = type <= 5 ? PUBACK_REASON_CODES : PUBREL_REASON_CODES;
  const context = ['', '', '', '', 'puback', 'pubrec', 'pubrel', 'pubcomp'][type];
  return fc
    .record({
      packetId: packetId(),
      reasonCode: version === 5 ? fc.constantFrom(...codes) : fc.constant(0),
      properties: propsFor(version, context),
    })
    .map((r) => compact({ type, ...r }));
}

export function subscribePacket(version: ProtocolVersion): fc.Arbitrary<SubscribePacket> {
  const sub: fc.Arbitrary<Subscription> =
    version === 5
      ? fc.record({
          topic: mqttString(),
          qos: qos(),
          noLocal: fc.boolean(),
          retainAsPublished: fc.boolean(),
          retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
        })
      : fc.record({
          topic: mqttString(),
          qos: qos(),
          noLocal: fc.constant(false),
          retainAsPublished: fc.constant(false),
          retainHandling: fc.constant<0>(0),
        });
  return fc
    .record({
      packetId: packetId(),
      subscriptions: fc.array(sub, { minLength: 1, maxLength: 4 }),
      properties: propsFor(version, 'subscribe'),
    })
    .map((r) => compact({ type: 8 as const, ...r }));
}

export function subackPacket(version: ProtocolVersion): fc.Arbitrary<SubackPacket> {
  const code = version === 5 ? fc.constantFrom(...SUBACK_REASON_CODES) : fc.constantFrom(0, 1, 2, 0x80);
  return fc
    .record({
      packetId: packetId(),
      reasonCodes: fc.array(code, { minLength: 1, maxLength: 4 }),
      properties: propsFor(version, 'suback'),
    })
    .map((r) => compact({ type: 9 as const, ...r }));
}

export function unsubscribePacket(version: ProtocolVersion): fc.Arbitrary<UnsubscribePacket> {
  return fc
    .record({
      packetId: packetId(),
      topics: fc.array(mqttString(), { minLength: 1, maxLength: 4 }),
      properties: propsFor(version, 'unsubscribe'),
    })
    .map((r) => compact({ type: 10 as const, ...r }));
}

export function unsubackPacket(version: ProtocolVersion): fc.Arbitrary<UnsubackPacket> {
  return fc
    .record({
      packetId: packetId(),
      reasonCodes:
        version === 5
          ? fc.array(fc.constantFrom(...UNSUBACK_REASON_CODES), { minLength: 1, maxLength: 4 })
          : fc.constant<number[]>([]).map(() => []),
      properties: propsFor(version, 'unsuback'),
    })
    .map((r) => compact({ type: 11 as const, ...r }));
}

export function disconnectPacket(version: ProtocolVersion): fc.Arbitrary<DisconnectPacket> {
  return fc
    .record({
      reasonCode: version === 5 ? fc.constantFrom(...DISCONNECT_REASON_CODES) : fc.constant(0),
      properties: propsFor(version, 'disconnect'),
    })
    .map((r) => compact({ type: 14 as const, ...r }));
}

/** AUTH exists only in MQTT 5. */
export function authPacket(): fc.Arbitrary<AuthPacket> {
  return fc
    .record({ reasonCode: fc.constantFrom(...AUTH_REASON_CODES), properties: properties('auth') })
    .map((r) => ({ type: 15 as const, ...r }));
}

/** Every packet type valid in `version` (AUTH only for 5). */
export function anyPacket(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const arbs: fc.Arbitrary<Packet>[] = [
    connectPacket(version),
    connackPacket(version),
    publishPacket(version),
    ackPacket(version, 4),
    ackPacket(version, 5),
    ackPacket(version, 6),
    ackPacket(version, 7),
    subscribePacket(version),
    subackPacket(version),
    unsubscribePacket(version),
    unsubackPacket(version),
    fc.constant({ type: 12 as const }),
    fc.constant({ type: 13 as const }),
    disconnectPacket(version),
  ];
  if (version === 5) arbs.push(authPacket());
  return fc.oneof(...arbs);
}

/** Every non-CONNECT packet (a stream after the CONNECT has fixed the version). */
export function anyPacketAfterConnect(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return anyPacket(version).filter((p) => p.type !== 1);
}
