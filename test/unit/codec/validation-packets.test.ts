/**
 * One test per context-free rule of properties, PUBLISH, acks and the subscribe family,
 * named with its spec ID, asserting the exact reason code, each with a passing control.
 */
import { describe, expect, it } from 'vitest';
import { RC, encode, type Packet } from '../../../src/codec/mqtt/index.js';
import { decode, decodeError, decodeOne, pkt, props, str, u16, u32, varint } from './bytes.js';

const MALFORMED = RC.MALFORMED_PACKET;
const PROTOCOL = RC.PROTOCOL_ERROR;

/** A v5 PUBLISH QoS 0 with the given property bytes. */
const publishWith = (...p: (number | number[] | Buffer)[]): Buffer => pkt(0x30, str('t'), props(...p), 0x61);
/** A v5 CONNACK with the given property bytes. */
const connackWith = (...p: (number | number[] | Buffer)[]): Buffer => pkt(0x20, 0x00, 0x00, props(...p));
/** A v5 CONNECT with the given property bytes. */
const connectWith = (...p: (number | number[] | Buffer)[]): Buffer =>
  pkt(0x10, str('MQTT'), 5, 0x02, u16(60), props(...p), str('c'));

describe('properties (MQTT5 2.2.2)', () => {
  it('MQTT5 2.2.2.2 an unknown property identifier is malformed', () => {
    for (const id of [0x00, 0x04, 0x2b, 0x7f]) {
      expect(decodeError(publishWith(id, 0), 5).reasonCode).toBe(MALFORMED);
    }
    // A multi-byte identifier varint is unknown too.
    expect(decodeError(publishWith(0x81, 0x00), 5).reasonCode).toBe(MALFORMED);
  });

  it.each([
    ['topic alias in CONNECT', connectWith(0x23, u16(1))],
    ['session expiry in PUBLISH', publishWith(0x11, u32(1))],
    ['will delay interval in PUBLISH', publishWith(0x18, u32(1))],
    ['maximum QoS in CONNECT', connectWith(0x24, 1)],
    ['reason string in PUBLISH', publishWith(0x1f, str('r'))],
    ['subscription identifier in CONNACK', connackWith(0x0b, 1)],
    ['topic alias in PUBACK', pkt(0x40, u16(1), 0x00, props(0x23, u16(1)))],
    ['topic alias in SUBSCRIBE', pkt(0x82, u16(1), props(0x23, u16(1)), str('a'), 0)],
  ])('MQTT5 2.2.2.2 a property not allowed in the packet is malformed: %s', (_n, bytes) => {
    const err = decodeError(bytes, 5);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/not allowed/);
  });

  it('MQTT5 3.1.3.2 a property not allowed in Will Properties is malformed (session expiry)', () => {
    const will = (p: Buffer): Buffer =>
      pkt(0x10, str('MQTT'), 5, 0x06, u16(60), props(), str('c'), p, str('wt'), str('wp'));
    expect(decodeError(will(props(0x11, u32(5))), 5).reasonCode).toBe(MALFORMED);
    expect(decodeOne(will(props(0x18, u32(5))))).toMatchObject({ will: { properties: { willDelayInterval: 5 } } });
  });

  it('MQTT5 2.2.2.1 a property length running past the packet is malformed', () => {
    expect(decodeError(pkt(0x30, str('t'), varint(50), 0x23, u16(1)), 5).reasonCode).toBe(MALFORMED);
  });

  it('MQTT5 2.2.2.1 a property value running past the property length is malformed', () => {
    // Property Length 2 but topic alias needs 3 bytes; the third is the payload's.
    expect(decodeError(pkt(0x30, str('t'), 2, 0x23, 0x00, 0x01), 5).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x30, str('t'), 4, 0x03, u16(5), 0x61, 0x62, 0x63, 0x64), 5).reasonCode).toBe(MALFORMED);
  });

  it('MQTT5 1.5.5 a subscription identifier varint longer than 4 bytes is malformed', () => {
    expect(decodeError(publishWith(0x0b, 0x80, 0x80, 0x80, 0x80, 0x01), 5).reasonCode).toBe(MALFORMED);
  });

  it.each([
    ['content type in PUBLISH', publishWith(0x03, str('a'), 0x03, str('b'))],
    ['topic alias in PUBLISH', publishWith(0x23, u16(1), 0x23, u16(2))],
    ['receive maximum in CONNECT', connectWith(0x21, u16(1), 0x21, u16(1))],
    ['session expiry in CONNACK', connackWith(0x11, u32(1), 0x11, u32(1))],
    ['reason string in PUBACK', pkt(0x40, u16(1), 0x00, props(0x1f, str('a'), 0x1f, str('b')))],
    ['subscription identifier in SUBSCRIBE', pkt(0x82, u16(1), props(0x0b, 1, 0x0b, 2), str('a'), 0)],
  ])('MQTT5 2.2.2.2 a property given twice is a protocol error: %s', (_n, bytes) => {
    const err = decodeError(bytes, 5);
    expect(err.reasonCode).toBe(PROTOCOL);
    expect(err.code).toBe('CODEC_PROTOCOL_ERROR');
    expect(err.message).toMatch(/more than once/);
  });

  it('MQTT-3.3.2-8 topic alias 0 in PUBLISH is refused with 0x94 Topic Alias invalid', () => {
    expect(decodeError(publishWith(0x23, u16(0)), 5).reasonCode).toBe(0x94);
    expect(decode(publishWith(0x23, u16(1)), 5).error).toBeUndefined();
  });

  it('MQTT5 3.3.2.3.8 user properties repeat and several subscription identifiers in PUBLISH are allowed', () => {
    const p = decodeOne(publishWith(0x26, str('k'), str('1'), 0x0b, 7, 0x26, str('k'), str('2'), 0x0b, 9), 5);
    expect(p).toMatchObject({ properties: { userProperties: [['k', '1'], ['k', '2']], subscriptionIdentifiers: [7, 9] } });
  });

  it.each([
    ['MQTT5 3.1.2.11.3 receive maximum 0 in CONNECT', connectWith(0x21, u16(0)), connectWith(0x21, u16(1))],
    ['MQTT5 3.2.2.3.3 receive maximum 0 in CONNACK', connackWith(0x21, u16(0)), connackWith(0x21, u16(1))],
    ['MQTT5 3.1.2.11.4 maximum packet size 0 in CONNECT', connectWith(0x27, u32(0)), connectWith(0x27, u32(1))],
    ['MQTT5 3.2.2.3.6 maximum packet size 0 in CONNACK', connackWith(0x27, u32(0)), connackWith(0x27, u32(1))],
    ['MQTT5 3.3.2.3.8 subscription identifier 0 in PUBLISH', publishWith(0x0b, 0), publishWith(0x0b, 1)],
    [
      'MQTT5 3.8.2.1.2 subscription identifier 0 in SUBSCRIBE',
      pkt(0x82, u16(1), props(0x0b, 0), str('a'), 0),
      pkt(0x82, u16(1), props(0x0b, 1), str('a'), 0),
    ],
  ])('%s is a protocol error', (_n, bad, good) => {
    const v = bad[0] >> 4 === 1 ? undefined : 5;
    expect(decodeError(bad, v).reasonCode).toBe(PROTOCOL);
    expect(decode(good, v).error).toBeUndefined();
  });

  it.each([
    ['MQTT5 3.3.2.3.2 payload format indicator', (v: number) => publishWith(0x01, v)],
    ['MQTT5 3.1.2.11.7 request problem information', (v: number) => connectWith(0x17, v)],
    ['MQTT5 3.1.2.11.6 request response information', (v: number) => connectWith(0x19, v)],
    ['MQTT5 3.2.2.3.4 maximum QoS', (v: number) => connackWith(0x24, v)],
    ['MQTT5 3.2.2.3.5 retain available', (v: number) => connackWith(0x25, v)],
    ['MQTT5 3.2.2.3.11 wildcard subscription available', (v: number) => connackWith(0x28, v)],
    ['MQTT5 3.2.2.3.12 subscription identifiers available', (v: number) => connackWith(0x29, v)],
    ['MQTT5 3.2.2.3.13 shared subscription available', (v: number) => connackWith(0x2a, v)],
  ])('%s other than 0 or 1 is a protocol error', (_n, build) => {
    const v = (b: Buffer): 5 | undefined => (b[0] >> 4 === 1 ? undefined : 5);
    expect(decodeError(build(2), v(build(2))).reasonCode).toBe(PROTOCOL);
    expect(decodeError(build(0xff), v(build(0xff))).reasonCode).toBe(PROTOCOL);
    expect(decode(build(0), v(build(0))).error).toBeUndefined();
    expect(decode(build(1), v(build(1))).error).toBeUndefined();
  });
});

describe('packet identifiers (MQTT-2.2.1-3)', () => {
  it.each([
    ['PUBLISH QoS 1', (id: number) => pkt(0x32, str('t'), u16(id))],
    ['PUBLISH QoS 2', (id: number) => pkt(0x34, str('t'), u16(id))],
    ['SUBSCRIBE', (id: number) => pkt(0x82, u16(id), str('a'), 0)],
    ['UNSUBSCRIBE', (id: number) => pkt(0xa2, u16(id), str('a'))],
    ['PUBACK', (id: number) => pkt(0x40, u16(id))],
    ['PUBREL', (id: number) => pkt(0x62, u16(id))],
    ['SUBACK', (id: number) => pkt(0x90, u16(id), 0)],
    ['UNSUBACK', (id: number) => pkt(0xb0, u16(id))],
  ])('MQTT-2.2.1-3 packet identifier 0 in %s is a protocol error', (_n, build) => {
    const err = decodeError(build(0), 4);
    expect(err.reasonCode).toBe(PROTOCOL);
    expect(err.message).toMatch(/MQTT-2\.2\.1-3/);
    expect(decode(build(1), 4).error).toBeUndefined();
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('MQTT-3.8.3-3 SUBSCRIBE without any subscription is a protocol error (3.1.1 and 5.0)', () => {
    expect(decodeError(pkt(0x82, u16(1)), 4).reasonCode).toBe(PROTOCOL);
    expect(decodeError(pkt(0x82, u16(1), props()), 5).reasonCode).toBe(PROTOCOL);
  });

  it('MQTT-3.10.3-2 UNSUBSCRIBE without any topic filter is a protocol error (3.1.1 and 5.0)', () => {
    expect(decodeError(pkt(0xa2, u16(1)), 4).reasonCode).toBe(PROTOCOL);
    expect(decodeError(pkt(0xa2, u16(1), props()), 5).reasonCode).toBe(PROTOCOL);
  });

  it('MQTT-3.8.3-5 reserved subscription option bits 7-6 are malformed in 5.0', () => {
    expect(decodeError(pkt(0x82, u16(1), props(), str('a'), 0x40), 5).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x82, u16(1), props(), str('a'), 0x80), 5).reasonCode).toBe(MALFORMED);
    expect(decodeOne(pkt(0x82, u16(1), props(), str('a'), 0x2e), 5)).toMatchObject({
      subscriptions: [{ topic: 'a', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    });
  });

  it('MQTT-3.8.3-4 (3.1.1) reserved option bits 7-2 or QoS 3 are malformed', () => {
    expect(decodeError(pkt(0x82, u16(1), str('a'), 0x04), 4).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x82, u16(1), str('a'), 0x03), 4).reasonCode).toBe(MALFORMED);
    expect(decodeOne(pkt(0x82, u16(1), str('a'), 0x02), 4)).toMatchObject({ subscriptions: [{ qos: 2 }] });
  });

  it('MQTT5 3.8.3.1 maximum QoS 3 in the subscription options is a protocol error in 5.0', () => {
    // MQTT 5 says "It is a Protocol Error if the Maximum QoS field has the value 3".
    expect(decodeError(pkt(0x82, u16(1), props(), str('a'), 0x03), 5).reasonCode).toBe(PROTOCOL);
  });

  it('MQTT5 3.8.3.1 retain handling 3 is a protocol error', () => {
    const err = decodeError(pkt(0x82, u16(1), props(), str('a'), 0x30), 5);
    expect(err.reasonCode).toBe(PROTOCOL);
    expect(err.message).toMatch(/retain handling/);
  });

  it('a subscription without its options byte is malformed', () => {
    expect(decodeError(pkt(0x82, u16(1), str('a')), 4).reasonCode).toBe(MALFORMED);
  });
});

describe('reason codes allowed per packet (MQTT 5)', () => {
  const ack = (byte1: number, rc: number): Buffer => pkt(byte1, u16(1), rc);
  it.each([
    ['MQTT5 3.4.2.1 PUBACK', (rc: number) => ack(0x40, rc), 0x92, 0x10],
    ['MQTT5 3.5.2.1 PUBREC', (rc: number) => ack(0x50, rc), 0x04, 0x97],
    ['MQTT5 3.6.2.1 PUBREL', (rc: number) => ack(0x62, rc), 0x10, 0x92],
    ['MQTT5 3.7.2.1 PUBCOMP', (rc: number) => ack(0x70, rc), 0x80, 0x92],
    ['MQTT5 3.9.3 SUBACK', (rc: number) => pkt(0x90, u16(1), props(), 0x00, rc), 0x03, 0xa2],
    ['MQTT5 3.11.3 UNSUBACK', (rc: number) => pkt(0xb0, u16(1), props(), rc), 0x10, 0x11],
    ['MQTT5 3.14.2.1 DISCONNECT', (rc: number) => pkt(0xe0, rc), 0x01, 0x8e],
    ['MQTT5 3.15.2.1 AUTH', (rc: number) => pkt(0xf0, rc, props()), 0x01, 0x18],
  ])('%s with a reason code outside its table is a protocol error', (_n, build, bad, good) => {
    const err = decodeError(build(bad), 5);
    expect(err.reasonCode).toBe(PROTOCOL);
    expect(decode(build(good), 5).error).toBeUndefined();
  });

  it('MQTT-3.9.3-2 (3.1.1) SUBACK return codes other than 0, 1, 2 and 0x80 are a protocol error', () => {
    expect(decodeError(pkt(0x90, u16(1), 0x03), 4).reasonCode).toBe(PROTOCOL);
    expect(decodeError(pkt(0x90, u16(1), 0x87), 4).reasonCode).toBe(PROTOCOL);
    expect(decodeOne(pkt(0x90, u16(1), 0x00, 0x01, 0x02, 0x80), 4)).toMatchObject({ reasonCodes: [0, 1, 2, 0x80] });
  });
});

describe('short forms (MQTT 5)', () => {
  it('MQTT5 3.4.2.1 PUBACK with remaining length 2 is Success, 3 has no Property Length', () => {
    expect(decodeOne(pkt(0x40, u16(5)), 5)).toEqual({ type: 4, packetId: 5, reasonCode: 0, properties: {} });
    expect(decodeOne(pkt(0x40, u16(5), 0x10), 5)).toEqual({ type: 4, packetId: 5, reasonCode: 0x10, properties: {} });
  });

  it('MQTT5 3.14.2.1 DISCONNECT with remaining length 0 is Normal disconnection, 1 has no properties', () => {
    expect(decodeOne(pkt(0xe0), 5)).toEqual({ type: 14, reasonCode: 0, properties: {} });
    expect(decodeOne(pkt(0xe0, 0x04), 5)).toEqual({ type: 14, reasonCode: 4, properties: {} });
  });

  it('the encoder uses the short forms for reason code 0 without properties', () => {
    const cases: [Packet, string][] = [
      [{ type: 4, packetId: 5, reasonCode: 0, properties: {} }, '40020005'],
      [{ type: 6, packetId: 5 }, '62020005'],
      [{ type: 4, packetId: 5, reasonCode: 0x10 }, '4003000510'],
      [{ type: 4, packetId: 5, reasonCode: 0, properties: { reasonString: 'r' } }, '4008' + '0005' + '00' + '04' + '1f000172'],
      [{ type: 14, reasonCode: 0, properties: {} }, 'e000'],
      [{ type: 14, reasonCode: 0x8e }, 'e0018e'],
      [{ type: 15, reasonCode: 0 }, 'f000'],
      [{ type: 15, reasonCode: 0x18 }, 'f0021800'],
    ];
    for (const [p, hex] of cases) expect(encode(p, 5).toString('hex')).toBe(hex);
  });
});
