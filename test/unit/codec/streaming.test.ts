/**
 * The streaming decoder: chunk boundaries, backpressure (resume), bufferedBytes and the
 * Maximum Packet Size enforced from the fixed header alone.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError, MqttDecoder, RC, encode, type Packet } from '../../../src/codec/mqtt/index.js';
import { anyPacketAfterConnect, connectPacket, publishPacket } from './arbitraries.js';

function collect(d: MqttDecoder, chunks: Buffer[]): Packet[] {
  const out: Packet[] = [];
  for (const c of chunks) d.push(c, (p) => void out.push(p));
  return out;
}

const streamArb = fc
  .tuple(connectPacket(5), fc.array(anyPacketAfterConnect(5), { minLength: 1, maxLength: 6 }))
  .map(([connect, rest]) => [connect as Packet, ...rest]);

function encodeStream(packets: Packet[]): Buffer {
  return Buffer.concat(packets.map((p) => encode(p, 5)));
}

describe('MqttDecoder streaming', () => {
  it('many packets in one chunk decode in order (the CONNECT sets v5 for the rest)', () => {
    fc.assert(
      fc.property(streamArb, (packets) => {
        const d = new MqttDecoder();
        expect(collect(d, [encodeStream(packets)])).toEqual(packets);
        expect(d.bufferedBytes).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('1-byte chunks give the same packets (remaining length split across chunks too)', () => {
    fc.assert(
      fc.property(streamArb, (packets) => {
        const bytes = encodeStream(packets);
        const chunks = Array.from(bytes, (b) => Buffer.from([b]));
        const d = new MqttDecoder();
        expect(collect(d, chunks)).toEqual(packets);
        expect(d.bufferedBytes).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('a split at every possible point gives the same packets', () => {
    fc.assert(
      fc.property(streamArb, (packets) => {
        const bytes = encodeStream(packets);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const d = new MqttDecoder();
          const got = collect(d, [bytes.subarray(0, cut), bytes.subarray(cut)]);
          expect(got).toEqual(packets);
          expect(d.bufferedBytes).toBe(0);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('random chunkings give the same packets', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }), (packets, sizes) => {
        const bytes = encodeStream(packets);
        const chunks: Buffer[] = [];
        let pos = 0;
        for (let i = 0; pos < bytes.length; i++) {
          const n = sizes[i % sizes.length];
          // Copies, as a socket would deliver them.
          chunks.push(Buffer.from(bytes.subarray(pos, pos + n)));
          pos += n;
        }
        expect(collect(new MqttDecoder(), chunks)).toEqual(packets);
      }),
      { numRuns: 100 },
    );
  });

  it('a remaining length varint split across three chunks', () => {
    const p: Packet = { type: 3, topic: 't', payload: Buffer.alloc(20_000, 7), qos: 0, retain: false, dup: false };
    const bytes = encode(p, 4);
    expect(bytes[1] & 0x80).toBe(0x80);
    expect(bytes[2] & 0x80).toBe(0x80); // 3-byte remaining length
    const d = new MqttDecoder({ protocolVersion: 4 });
    const out = collect(d, [bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3, 4)]);
    expect(out).toEqual([]);
    expect(d.bufferedBytes).toBe(4);
    out.push(...collect(d, [bytes.subarray(4)]));
    expect(out).toEqual([p]);
  });

  it('bufferedBytes counts the bytes of an incomplete packet', () => {
    const bytes = encode({ type: 4, packetId: 9, reasonCode: 0 }, 4);
    const d = new MqttDecoder({ protocolVersion: 4 });
    expect(d.bufferedBytes).toBe(0);
    expect(collect(d, [bytes.subarray(0, 3)])).toEqual([]);
    expect(d.bufferedBytes).toBe(3);
    expect(collect(d, [bytes.subarray(3)])).toEqual([{ type: 4, packetId: 9, reasonCode: 0, properties: undefined }]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('a packet inside one chunk is decoded in place: its payload is a view of the chunk', () => {
    const chunk = encode({ type: 3, topic: 't', payload: Buffer.from('abc'), qos: 0, retain: false, dup: false }, 4);
    const [p] = collect(new MqttDecoder({ protocolVersion: 4 }), [chunk]);
    expect(p.type === 3 && p.payload.buffer === chunk.buffer).toBe(true);
  });
});

describe('MqttDecoder backpressure', () => {
  it('stops after a packet when onPacket returns false, keeps the rest, resume() continues', () => {
    fc.assert(
      fc.property(streamArb, fc.integer({ min: 0, max: 20 }), (packets, seed) => {
        const bytes = encodeStream(packets);
        const d = new MqttDecoder();
        const out: Packet[] = [];
        let calls = 0;
        // Pause after every packet whose index has the seed's bit set; resume until done.
        const onPacket = (p: Packet): boolean => {
          out.push(p);
          return ((seed >> calls++ % 5) & 1) === 0;
        };
        d.push(bytes, onPacket);
        let guard = 0;
        while (out.length < packets.length && guard++ < 100) {
          const before = out.length;
          expect(d.bufferedBytes).toBeGreaterThan(0);
          d.resume(onPacket);
          expect(out.length).toBeGreaterThan(before);
        }
        expect(out).toEqual(packets);
        expect(d.bufferedBytes).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('returning false delivers exactly one packet per call even with several in the chunk', () => {
    const acks = [1, 2, 3].map((id) => encode({ type: 4, packetId: id }, 4));
    const d = new MqttDecoder({ protocolVersion: 4 });
    const got: number[] = [];
    const stopEach = (p: Packet): boolean => {
      if (p.type === 4) got.push(p.packetId);
      return false;
    };
    d.push(Buffer.concat(acks), stopEach);
    expect(got).toEqual([1]);
    expect(d.bufferedBytes).toBe(8);
    d.resume(stopEach);
    expect(got).toEqual([1, 2]);
    d.resume(stopEach);
    expect(got).toEqual([1, 2, 3]);
    expect(d.bufferedBytes).toBe(0);
    d.resume(stopEach); // nothing held: no call
    expect(got).toEqual([1, 2, 3]);
  });

  it('pushing while paused appends and keeps the order (push resumes)', () => {
    const a = encode({ type: 4, packetId: 1 }, 4);
    const b = encode({ type: 4, packetId: 2 }, 4);
    const c = encode({ type: 4, packetId: 3 }, 4);
    const d = new MqttDecoder({ protocolVersion: 4 });
    const got: number[] = [];
    d.push(Buffer.concat([a, b]), (p) => {
      if (p.type === 4) got.push(p.packetId);
      return false;
    });
    expect(got).toEqual([1]);
    d.push(Buffer.concat([c.subarray(0, 1)]), (p) => void (p.type === 4 && got.push(p.packetId)));
    expect(got).toEqual([1, 2]);
    d.push(c.subarray(1), (p) => void (p.type === 4 && got.push(p.packetId)));
    expect(got).toEqual([1, 2, 3]);
  });

  it('a packet assembled from several chunks can pause too; held bytes after it are kept', () => {
    const big = encode({ type: 3, topic: 'x', payload: Buffer.alloc(300, 1), qos: 0, retain: false, dup: false }, 4);
    const ack = encode({ type: 4, packetId: 5 }, 4);
    const stream = Buffer.concat([big, ack, ack]);
    const d = new MqttDecoder({ protocolVersion: 4 });
    const types: number[] = [];
    const stop = (p: Packet): boolean => {
      types.push(p.type);
      return false;
    };
    d.push(stream.subarray(0, 100), stop);
    d.push(stream.subarray(100, 200), stop);
    expect(types).toEqual([]);
    d.push(stream.subarray(200), stop);
    expect(types).toEqual([3]);
    expect(d.bufferedBytes).toBe(8);
    d.resume(stop);
    d.resume(stop);
    expect(types).toEqual([3, 4, 4]);
    expect(d.bufferedBytes).toBe(0);
  });
});

describe('MqttDecoder errors', () => {
  it('delivers the valid packets before a bad one, then throws and stays failed', () => {
    const good = encode({ type: 4, packetId: 1 }, 4);
    const bad = Buffer.from([0x40, 0x02, 0x00, 0x00]); // PUBACK with packet identifier 0
    const d = new MqttDecoder({ protocolVersion: 4 });
    const got: Packet[] = [];
    let err: unknown;
    try {
      d.push(Buffer.concat([good, good, bad, good]), (p) => void got.push(p));
    } catch (e) {
      err = e;
    }
    expect(got).toHaveLength(2);
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).reasonCode).toBe(RC.PROTOCOL_ERROR);
    expect(() => d.push(good, () => undefined)).toThrow(err as Error);
    expect(() => d.resume(() => undefined)).toThrow(err as Error);
    expect(d.bufferedBytes).toBe(0);
  });

  it('an exception from onPacket propagates and the bytes after that packet are kept', () => {
    const acks = Buffer.concat([1, 2].map((id) => encode({ type: 4, packetId: id }, 4)));
    const d = new MqttDecoder({ protocolVersion: 4 });
    expect(() => d.push(acks, () => {
      throw new Error('handler bug');
    })).toThrow('handler bug');
    expect(d.bufferedBytes).toBe(4);
    const got: Packet[] = [];
    d.resume((p) => void got.push(p));
    expect(got).toEqual([{ type: 4, packetId: 2, reasonCode: 0, properties: undefined }]);
  });
});

describe('Maximum Packet Size (MQTT5 3.1.2.11.4)', () => {
  it('MQTT5 3.1.2.11.4 a 10 MB PUBLISH header with maxPacketSize 1 KB throws 0x95 from the fixed header alone', () => {
    const header = Buffer.from([0x30, 0x80, 0xad, 0xe2, 0x04]); // remaining length 10,000,000
    const d = new MqttDecoder({ maxPacketSize: 1024, protocolVersion: 5 });
    let err: unknown;
    try {
      d.push(header, () => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).reasonCode).toBe(RC.PACKET_TOO_LARGE);
    expect((err as CodecError).code).toBe('CODEC_PACKET_TOO_LARGE');
    expect(d.bufferedBytes).toBe(0);
  });

  it('MQTT5 3.1.2.11.4 the same with the header arriving one byte at a time: nothing beyond 5 bytes is held', () => {
    const header = [0x30, 0x80, 0xad, 0xe2, 0x04];
    const d = new MqttDecoder({ maxPacketSize: 1024, protocolVersion: 5 });
    for (const b of header.slice(0, 4)) {
      d.push(Buffer.from([b]), () => undefined);
      expect(d.bufferedBytes).toBeLessThanOrEqual(4);
    }
    expect(() => d.push(Buffer.from([header[4]]), () => undefined)).toThrow(
      expect.objectContaining({ reasonCode: RC.PACKET_TOO_LARGE }),
    );
  });

  it('MQTT5 3.1.2.11.4 the limit counts the fixed header: size == max passes, max + 1 fails', () => {
    const p = encode({ type: 3, topic: 't', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false }, 4);
    const ok = new MqttDecoder({ maxPacketSize: p.length, protocolVersion: 4 });
    expect(collect(ok, [p])).toHaveLength(1);
    const tooSmall = new MqttDecoder({ maxPacketSize: p.length - 1, protocolVersion: 4 });
    expect(() => collect(tooSmall, [p.subarray(0, 2)])).toThrow(expect.objectContaining({ reasonCode: RC.PACKET_TOO_LARGE }));
  });

  it('maxPacketSize is writable (set after CONNACK negotiation)', () => {
    const p = encode({ type: 3, topic: 't', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false }, 4);
    const d = new MqttDecoder({ protocolVersion: 4 });
    expect(collect(d, [p])).toHaveLength(1);
    d.maxPacketSize = 50;
    expect(() => collect(d, [p])).toThrow(expect.objectContaining({ reasonCode: RC.PACKET_TOO_LARGE }));
  });

  it('a large packet arriving in pieces is held whole and decoded once complete', () => {
    const payload = Buffer.alloc(200_000, 3);
    const bytes = encode({ type: 3, topic: 'big', payload, qos: 1, retain: false, dup: false, packetId: 1 }, 4);
    const d = new MqttDecoder({ protocolVersion: 4 });
    const out: Packet[] = [];
    for (let i = 0; i < bytes.length; i += 65536) d.push(bytes.subarray(i, i + 65536), (p) => void out.push(p));
    expect(out).toHaveLength(1);
    expect(out[0].type === 3 && out[0].payload.equals(payload)).toBe(true);
  });
});

describe('publish-heavy streams', () => {
  it('QoS 0/1 PUBLISH streams in 1000-byte chunks decode exactly', () => {
    fc.assert(
      fc.property(fc.array(publishPacket(5), { minLength: 50, maxLength: 200 }), (pubs) => {
        const bytes = encodeStream(pubs);
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.subarray(i, i + 1000));
        expect(collect(new MqttDecoder({ protocolVersion: 5 }), chunks)).toEqual(pubs);
      }),
      { numRuns: 20 },
    );
  });
});
