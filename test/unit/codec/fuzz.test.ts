/**
 * Fuzzing the decoder: random bytes and mutated valid packets (bit flips, truncation,
 * insertions, deletions). The decoder must only ever return packets or throw a
 * CodecError, must terminate, and must not hold more bytes than it was given.
 * Bounded runs: the file takes a few seconds.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError, MqttDecoder, encode, type Packet, type ProtocolVersion } from '../../../src/codec/mqtt/index.js';
import { anyPacket } from './arbitraries.js';

interface Outcome {
  packets: Packet[];
  error?: CodecError;
}

/** Decode with a fresh decoder; any throw other than CodecError fails the property. */
function fuzzDecode(chunks: Buffer[], version: ProtocolVersion | undefined, maxPacketSize?: number): Outcome {
  const d = new MqttDecoder({ protocolVersion: version, maxPacketSize });
  const packets: Packet[] = [];
  let given = 0;
  try {
    for (const c of chunks) {
      given += c.length;
      d.push(c, (p) => void packets.push(p));
      expect(d.bufferedBytes).toBeLessThanOrEqual(given);
    }
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    expect([0x81, 0x82, 0x84, 0x95]).toContain(e.reasonCode);
    expect(e.message.length).toBeGreaterThan(0);
    // Poisoned: the same error again.
    expect(() => d.push(Buffer.from([0]), () => undefined)).toThrow(e);
    return { packets, error: e };
  }
  return { packets };
}

/** Every decoded packet must be encodable again (the model is consistent). */
function reencodable(packets: Packet[], version: ProtocolVersion): void {
  for (const p of packets) expect(encode(p, p.type === 1 ? p.protocolVersion : version)).toBeInstanceOf(Buffer);
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'set'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff) }),
);

function mutate(bytes: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      case 'set':
        b[at] = m.value;
        break;
    }
  }
  return b;
}

const versionArb = fc.constantFrom<ProtocolVersion>(3, 4, 5);

describe('decoder fuzz', () => {
  it('random bytes: only packets or CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<ProtocolVersion | undefined>(undefined, 4, 5), (bytes, v) => {
        const r = fuzzDecode([Buffer.from(bytes)], v);
        reencodable(r.packets, v ?? 4);
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes behind a valid fixed header of a random type', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 120 }), versionArb, (byte1, body, v) => {
        const b = Buffer.from(body);
        const bytes = Buffer.concat([Buffer.from([byte1, b.length]), b]);
        fuzzDecode([bytes], v);
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated valid packets (bit flips, truncation, insertions, deletions): only packets or CodecError', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) => fc.tuple(fc.constant(v), fc.array(anyPacket(v), { minLength: 1, maxLength: 4 }))),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 64 }),
        ([v, packets], muts, chunkSize) => {
          const bytes = mutate(Buffer.concat(packets.map((p) => encode(p, v))), muts);
          const chunks: Buffer[] = [];
          for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
          const r = fuzzDecode(chunks, v);
          reencodable(r.packets, v);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('mutated streams decode the same whole or byte by byte (same packets, same error)', () => {
    fc.assert(
      fc.property(
        versionArb.chain((v) => fc.tuple(fc.constant(v), fc.array(anyPacket(v), { minLength: 1, maxLength: 3 }))),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        ([v, packets], muts) => {
          const bytes = mutate(Buffer.concat(packets.map((p) => encode(p, v))), muts);
          const whole = fuzzDecode([bytes], v);
          const bytewise = fuzzDecode(Array.from(bytes, (x) => Buffer.from([x])), v);
          expect(bytewise.packets).toEqual(whole.packets);
          expect(bytewise.error?.reasonCode).toEqual(whole.error?.reasonCode);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a small maxPacketSize never lets the decoder hold more than the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.integer({ min: 2, max: 64 }), (bytes, max) => {
        const d = new MqttDecoder({ protocolVersion: 5, maxPacketSize: max });
        try {
          for (let i = 0; i < bytes.length; i += 7) {
            d.push(Buffer.from(bytes.subarray(i, i + 7)), () => undefined);
            expect(d.bufferedBytes).toBeLessThanOrEqual(Math.max(max, 5));
          }
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
