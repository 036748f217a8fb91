/**
 * One test per context-free rule of the fixed header, strings and CONNECT/CONNACK, named
 * with its spec ID, asserting the exact reason code. Each rule also has a passing
 * control next to it so that a test cannot pass by rejecting everything.
 */
import { describe, expect, it } from 'vitest';
import { MqttDecoder, RC } from '../../../src/codec/mqtt/index.js';
import { cat, connectBody, decode, decodeError, decodeOne, pkt, props, str, u16 } from './bytes.js';

const MALFORMED = RC.MALFORMED_PACKET;

describe('fixed header', () => {
  it.each([
    ['PUBREL', 0x60, 0x62, [0, 1]],
    ['SUBSCRIBE', 0x80, 0x82, [0, 1, 0, 1, 0x61, 0]],
    ['UNSUBSCRIBE', 0xa0, 0xa2, [0, 1, 0, 1, 0x61]],
  ])('MQTT-2.2.2-1 %s flags other than 0b0010 are malformed (MQTT-2.2.2-2)', (_name, bad, good, body) => {
    const err = decodeError(pkt(bad as number, body as number[]), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.code).toBe('CODEC_MALFORMED_PACKET');
    expect(err.message).toMatch(/MQTT-2\.2\.2/);
    expect(err.details?.packetType).toBe((bad as number) >> 4);
    expect(decode(pkt(good as number, body as number[]), 4).error).toBeUndefined();
  });

  it.each([
    ['CONNACK', 0x21, [0, 0]],
    ['PUBACK', 0x42, [0, 1]],
    ['PUBREC', 0x58, [0, 1]],
    ['PUBCOMP', 0x71, [0, 1]],
    ['SUBACK', 0x92, [0, 1, 0]],
    ['UNSUBACK', 0xb2, [0, 1]],
    ['PINGREQ', 0xc1, []],
    ['PINGRESP', 0xd8, []],
    ['DISCONNECT', 0xe4, []],
  ])('MQTT-2.2.2-1 %s with non-zero reserved flags is malformed (MQTT-2.2.2-2)', (_name, byte1, body) => {
    expect(decodeError(pkt(byte1 as number, body as number[]), 4).reasonCode).toBe(MALFORMED);
    expect(decode(pkt((byte1 as number) & 0xf0, body as number[]), 4).error).toBeUndefined();
  });

  it('MQTT-2.2.2-1 CONNECT with non-zero reserved flags is malformed', () => {
    const body = connectBody(4, 0x02, [str('c')]);
    expect(decodeError(pkt(0x11, ...body)).reasonCode).toBe(MALFORMED);
    expect(decode(pkt(0x10, ...body)).error).toBeUndefined();
  });

  it('MQTT 2.1.2 control packet type 0 is reserved: malformed', () => {
    expect(decodeError(Buffer.from([0x00, 0x00]), 4).reasonCode).toBe(MALFORMED);
  });

  it('MQTT 2.1.2 AUTH (type 15) does not exist in 3.1.1: malformed; accepted in 5.0', () => {
    expect(decodeError(Buffer.from([0xf0, 0x00]), 4).reasonCode).toBe(MALFORMED);
    expect(decodeOne(Buffer.from([0xf0, 0x00]), 5)).toEqual({ type: 15, reasonCode: 0, properties: {} });
  });

  it('MQTT-1.5.5-1 a remaining length of more than 4 bytes is malformed', () => {
    const err = decodeError(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    // The largest 4-byte value is accepted as a header (no body yet: nothing decoded, no error).
    expect(decode(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), 4)).toEqual({ packets: [], error: undefined });
  });

  it('MQTT-1.5.5-1 the 5th remaining length byte is rejected even when it arrives in its own chunk', () => {
    const d = new MqttDecoder({ protocolVersion: 4 });
    d.push(Buffer.from([0x30, 0xff]), () => undefined);
    d.push(Buffer.from([0xff, 0xff]), () => undefined);
    expect(d.bufferedBytes).toBe(4);
    expect(() => d.push(Buffer.from([0x80]), () => undefined)).toThrow(expect.objectContaining({ reasonCode: MALFORMED }));
  });

  it('MQTT-3.3.1-4 PUBLISH with QoS 3 is malformed', () => {
    const body = [str('t'), u16(1)];
    const err = decodeError(pkt(0x36, ...body), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/MQTT-3\.3\.1-4/);
    expect(decodeOne(pkt(0x34, ...body), 4)).toMatchObject({ type: 3, qos: 2, packetId: 1 });
  });
});

describe('packet length vs content (MQTT5 4.13, MQTT 3.1.1 4.8)', () => {
  it('a string running past the end of the packet is malformed', () => {
    expect(decodeError(pkt(0x30, u16(10), 'abc'.split('').map((c) => c.charCodeAt(0))), 4).reasonCode).toBe(MALFORMED);
  });

  it('a packet identifier cut short is malformed', () => {
    expect(decodeError(pkt(0x32, str('t'), 0x01), 4).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x40, 0x01), 4).reasonCode).toBe(MALFORMED);
  });

  it.each([
    ['PUBACK 3.1.1', 0x40, [0, 1, 0]],
    ['PUBREL 3.1.1', 0x62, [0, 1, 0]],
    ['UNSUBACK 3.1.1', 0xb0, [0, 1, 0]],
    ['CONNACK 3.1.1', 0x20, [0, 0, 0]],
    ['PINGREQ', 0xc0, [0]],
    ['PINGRESP', 0xd0, [0]],
    ['DISCONNECT 3.1.1', 0xe0, [0]],
  ])('trailing bytes after a %s that has no payload are malformed', (_n, byte1, body) => {
    const err = decodeError(pkt(byte1 as number, body as number[]), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/unexpected byte/);
    expect(decode(pkt(byte1 as number, (body as number[]).slice(0, -1)), 4).error).toBeUndefined();
  });

  it('trailing bytes after a CONNECT payload are malformed', () => {
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02, [str('c'), 0]))).reasonCode).toBe(MALFORMED);
  });

  it('trailing bytes after v5 ack properties are malformed', () => {
    expect(decodeError(pkt(0x40, u16(1), 0x00, props(), 0x00), 5).reasonCode).toBe(MALFORMED);
  });
});

describe('UTF-8 strings (MQTT-1.5.4)', () => {
  it.each([
    ['an invalid byte sequence', [0xc3, 0x28]],
    ['a UTF-16 surrogate encoded as UTF-8', [0xed, 0xa0, 0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a truncated multi-byte character', [0x61, 0xe2, 0x82]],
  ])('MQTT-1.5.4-1 a topic name with %s is malformed', (_n, bytes) => {
    const err = decodeError(pkt(0x30, str(bytes), 'x'.charCodeAt(0)), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/MQTT-1\.5\.4-1/);
  });

  it('MQTT-1.5.4-1 well-formed multi-byte UTF-8 is accepted', () => {
    expect(decodeOne(pkt(0x30, str('é/日本/🙂')), 4)).toMatchObject({ topic: 'é/日本/🙂' });
  });

  it('MQTT-1.5.4-2 a string containing U+0000 is malformed (topic, client id, user property)', () => {
    expect(decodeError(pkt(0x30, str([0x61, 0x00, 0x62])), 4).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02, [str([0x00])]))).reasonCode).toBe(MALFORMED);
    const up = props(0x26, str('k'), str([0x76, 0x00]));
    expect(decodeError(pkt(0x30, str('t'), up), 5).reasonCode).toBe(MALFORMED);
    expect(decode(pkt(0x30, str('t'), props(0x26, str('k'), str('v'))), 5).error).toBeUndefined();
  });
});

describe('CONNECT', () => {
  it('MQTT-3.1.2-3 the reserved connect flag set is malformed', () => {
    const err = decodeError(pkt(0x10, ...connectBody(4, 0x03, [str('c')])));
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/MQTT-3\.1\.2-3/);
    expect(err.details?.packetType).toBe(1);
  });

  it('MQTT-3.1.2-11 MQTT-3.1.2-13 will flag 0 with a will QoS is malformed', () => {
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02 | 0x08, [str('c')]))).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x10, ...connectBody(5, 0x02 | 0x10, [props(), str('c')]))).reasonCode).toBe(MALFORMED);
  });

  it('MQTT-3.1.2-15 will flag 0 with will retain is malformed', () => {
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02 | 0x20, [str('c')]))).reasonCode).toBe(MALFORMED);
  });

  it('MQTT-3.1.2-14 will QoS 3 is malformed; will QoS 2 with retain is accepted', () => {
    const will = [str('c'), str('wt'), str('wp')];
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02 | 0x04 | 0x18, will))).reasonCode).toBe(MALFORMED);
    expect(decodeOne(pkt(0x10, ...connectBody(4, 0x02 | 0x04 | 0x10 | 0x20, will)))).toMatchObject({
      will: { topic: 'wt', payload: Buffer.from('wp'), qos: 2, retain: true },
    });
  });

  it('MQTT-3.1.2-22 a password without user name is malformed in 3.1.1 (and 3.1), allowed in 5.0', () => {
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x02 | 0x40, [str('c'), str('pw')]))).reasonCode).toBe(MALFORMED);
    expect(decodeError(pkt(0x10, ...connectBody(3, 0x02 | 0x40, [str('c'), str('pw')], 'MQIsdp'))).reasonCode).toBe(
      MALFORMED,
    );
    expect(decodeOne(pkt(0x10, ...connectBody(5, 0x02 | 0x40, [props(), str('c'), str('pw')])))).toMatchObject({
      password: Buffer.from('pw'),
      username: undefined,
    });
  });

  it.each([
    ['level 6', 'MQTT', 6],
    ['level 0', 'MQTT', 0],
    ['bridge bit (0x84)', 'MQTT', 0x84],
    ['"MQTT" with level 3', 'MQTT', 3],
    ['"MQIsdp" with level 4', 'MQIsdp', 4],
    ['an unknown name', 'MQTX', 4],
  ])('MQTT-3.1.2-2 %s is an unsupported protocol version (0x84) with details.protocolVersion', (_n, name, level) => {
    const err = decodeError(pkt(0x10, ...connectBody(level, 0x02, [str('c')], name)));
    expect(err.reasonCode).toBe(RC.UNSUPPORTED_PROTOCOL_VERSION);
    expect(err.code).toBe('CODEC_UNSUPPORTED_PROTOCOL_VERSION');
    expect(err.details).toMatchObject({ protocolVersion: level, packetType: 1 });
  });

  it('MQTT-3.1.2-2 the three supported name/level pairs decode', () => {
    expect(decodeOne(pkt(0x10, ...connectBody(3, 0x02, [str('c')], 'MQIsdp')))).toMatchObject({ protocolVersion: 3 });
    expect(decodeOne(pkt(0x10, ...connectBody(4, 0x02, [str('c')])))).toMatchObject({ protocolVersion: 4 });
    expect(decodeOne(pkt(0x10, ...connectBody(5, 0x02, [props(), str('c')])))).toMatchObject({ protocolVersion: 5 });
  });

  it('a CONNECT cut short inside the will is malformed', () => {
    expect(decodeError(pkt(0x10, ...connectBody(4, 0x06, [str('c'), str('wt')]))).reasonCode).toBe(MALFORMED);
  });
});

describe('CONNACK', () => {
  it('MQTT-3.2.2-1 reserved acknowledge flag bits set are malformed', () => {
    const err = decodeError(pkt(0x20, 0x02, 0x00), 4);
    expect(err.reasonCode).toBe(MALFORMED);
    expect(err.message).toMatch(/MQTT-3\.2\.2-1/);
    expect(decodeOne(pkt(0x20, 0x01, 0x00), 4)).toMatchObject({ sessionPresent: true, reasonCode: 0 });
  });

  it('MQTT5 3.2.2.2 a reason code not in the CONNACK table is a protocol error', () => {
    expect(decodeError(pkt(0x20, 0x00, 0x01, props()), 5).reasonCode).toBe(RC.PROTOCOL_ERROR);
    expect(decodeOne(pkt(0x20, 0x00, 0x87, props()), 5)).toMatchObject({ reasonCode: 0x87 });
  });

  it('MQTT-3.2.2-3 a 3.1.1 return code is decoded as-is', () => {
    expect(decodeOne(pkt(0x20, 0x00, 0x05), 4)).toMatchObject({ reasonCode: 5 });
  });

  it('a v5 CONNACK without its Property Length is malformed', () => {
    expect(decodeError(pkt(0x20, 0x00, 0x00), 5).reasonCode).toBe(MALFORMED);
  });
});

describe('messages', () => {
  it('the error message names the packet and the problem (it becomes the DISCONNECT reason string)', () => {
    const err = decodeError(cat(pkt(0x32, str('t'), u16(0))), 4);
    expect(err.message).toBe('PUBLISH: packet identifier 0 is not allowed (MQTT-2.2.1-3)');
  });
});
