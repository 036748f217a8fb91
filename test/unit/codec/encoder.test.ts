/**
 * Encoder behaviour that round trips alone do not pin down: what 3.1.1 leaves out, the
 * order of repeated properties on the wire, what is dropped, and what throws.
 */
import { describe, expect, it } from 'vitest';
import { CodecError, encode, type Packet } from '../../../src/codec/mqtt/index.js';
import { decodeOne } from './bytes.js';

const props = { reasonString: 'why', userProperties: [['a', '1'] as [string, string]] };

describe('encode for 3.1 / 3.1.1', () => {
  it('leaves out properties and v5-only fields', () => {
    expect(encode({ type: 4, packetId: 7, reasonCode: 0x80, properties: props }, 4).toString('hex')).toBe('40020007');
    expect(encode({ type: 11, packetId: 7, reasonCodes: [0x11], properties: props }, 4).toString('hex')).toBe('b0020007');
    expect(encode({ type: 14, reasonCode: 0x8e, properties: props }, 4).toString('hex')).toBe('e000');
    expect(encode({ type: 15, reasonCode: 0x18, properties: props }, 4).toString('hex')).toBe('f000');
    expect(encode({ type: 2, sessionPresent: true, reasonCode: 0, properties: { maximumQoS: 1 } }, 4).toString('hex')).toBe(
      '20020100',
    );
  });

  it('writes CONNACK reasonCode as-is as the return code (the caller maps)', () => {
    expect(encode({ type: 2, sessionPresent: false, reasonCode: 5 }, 4).toString('hex')).toBe('20020005');
  });

  it('MQTT-3.9.3 SUBACK failure codes above 2 become 0x80', () => {
    expect(encode({ type: 9, packetId: 1, reasonCodes: [0, 1, 2, 0x80, 0x87, 0xa2] }, 4).toString('hex')).toBe(
      '9008000100010280' + '8080',
    );
  });

  it('SUBSCRIBE options carry only the QoS', () => {
    const sub: Packet = {
      type: 8, packetId: 1,
      subscriptions: [{ topic: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    };
    expect(encode(sub, 4).toString('hex')).toBe('8206' + '0001' + '000161' + '01');
    expect(encode(sub, 5).toString('hex')).toBe('8207' + '0001' + '00' + '000161' + '2d');
  });

  it('CONNECT names: MQIsdp/3, MQTT/4, MQTT/5 (from the version argument)', () => {
    const c: Packet = { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c' };
    expect(encode(c, 3).subarray(2, 11).toString('hex')).toBe('00064d514973647003');
    expect(encode(c, 4).subarray(2, 9).toString('hex')).toBe('00044d51545404');
    expect(encode(c, 5).subarray(2, 9).toString('hex')).toBe('00044d51545405');
  });
});

describe('encode properties (MQTT5 2.2.2)', () => {
  it('writes user properties in order with repeats, and every subscription identifier', () => {
    const p: Packet = {
      type: 3, topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false,
      properties: { userProperties: [['k', '1'], ['j', '2'], ['k', '3']], subscriptionIdentifiers: [1, 200] },
    };
    const bytes = encode(p, 5);
    // 3 user properties of 1 + 3 + 3 bytes, 2 subscription identifiers of 1 + 1 and 1 + 2 bytes.
    expect(bytes[5]).toBe(3 * 7 + 2 + 3);
    expect(decodeOne(bytes, 5)).toEqual(p);
  });

  it('leaves out properties not allowed in the packet (will properties passed to a PUBLISH)', () => {
    const p: Packet = {
      type: 3, topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false,
      properties: { willDelayInterval: 30, contentType: 'text/plain', sessionExpiryInterval: 5 },
    };
    expect(decodeOne(encode(p, 5), 5)).toEqual({ ...p, properties: { contentType: 'text/plain' } });
  });

  it('encodes representable but invalid values as given (tests rely on it)', () => {
    const p: Packet = {
      type: 3, topic: 't', payload: Buffer.alloc(0), qos: 1, packetId: 0, retain: false, dup: false,
      properties: { topicAlias: 0 },
    };
    expect(encode(p, 5).toString('hex')).toBe('3209' + '000174' + '0000' + '03' + '230000');
  });

  it('ignores unknown keys and undefined values in properties', () => {
    const p = {
      type: 4, packetId: 1, reasonCode: 0, properties: { nonsense: 1, reasonString: undefined },
    } as unknown as Packet;
    expect(encode(p, 5).toString('hex')).toBe('40020001');
  });
});

describe('encode errors: only for values that cannot be represented', () => {
  const publish = (over: Partial<Extract<Packet, { type: 3 }>>): Packet => ({
    type: 3, topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, ...over,
  });

  it('a string over 65,535 bytes throws CODEC_ENCODE_STRING_TOO_LONG; 65,535 bytes is fine', () => {
    expect(() => encode(publish({ topic: 'x'.repeat(65_536) }), 4)).toThrow(
      expect.objectContaining({ code: 'CODEC_ENCODE_STRING_TOO_LONG' }),
    );
    expect(() => encode(publish({ topic: 'é'.repeat(32_768) }), 4)).toThrow(CodecError); // 65,536 bytes
    expect(encode(publish({ topic: 'x'.repeat(65_535) }), 4).length).toBe(1 + 3 + 2 + 65_535);
    expect(() => encode(publish({ properties: { userProperties: [['k', 'v'.repeat(70_000)]] } }), 5)).toThrow(
      expect.objectContaining({ code: 'CODEC_ENCODE_STRING_TOO_LONG' }),
    );
    expect(() => encode({ type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c',
      username: 'u', password: Buffer.alloc(65_536) }, 4)).toThrow(expect.objectContaining({ code: 'CODEC_ENCODE_STRING_TOO_LONG' }));
  });

  it('a packet over 268,435,455 bytes of remaining length throws CODEC_ENCODE_PACKET_TOO_LARGE', () => {
    // A fake payload: only its length is read before the size check.
    const huge = { length: 268_435_455 } as unknown as Buffer;
    expect(() => encode(publish({ payload: huge }), 4)).toThrow(
      expect.objectContaining({ code: 'CODEC_ENCODE_PACKET_TOO_LARGE' }),
    );
  });

  it('integers out of their data type range throw CODEC_ENCODE_INVALID_VALUE', () => {
    const invalid = expect.objectContaining({ code: 'CODEC_ENCODE_INVALID_VALUE' });
    expect(() => encode(publish({ qos: 1 }), 4)).toThrow(invalid); // no packetId
    expect(() => encode(publish({ qos: 1, packetId: 65_536 }), 4)).toThrow(invalid);
    expect(() => encode({ type: 4, packetId: -1 }, 4)).toThrow(invalid);
    expect(() => encode(publish({ properties: { topicAlias: 70_000 } }), 5)).toThrow(invalid);
    expect(() => encode(publish({ properties: { messageExpiryInterval: 2 ** 32 } }), 5)).toThrow(invalid);
    expect(() => encode(publish({ properties: { subscriptionIdentifiers: [268_435_456] } }), 5)).toThrow(invalid);
    expect(() => encode({ type: 14, reasonCode: 256 }, 5)).toThrow(invalid);
  });
});
