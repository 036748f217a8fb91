/**
 * Hostile byte streams for the live fuzz test: random bytes, and valid packets (from the
 * codec's arbitraries) mutated the way real corruption and real attackers mutate them:
 * bit flips, overwritten bytes, truncation, splices of two packets, inserted garbage, a
 * rewritten remaining length, repetition. Each case may start with a valid CONNECT so
 * that the mutated packets reach the connected state machine, not only the decoder.
 */
import fc from 'fast-check';
import { encode, type Packet, type ProtocolVersion } from '../../src/codec/mqtt/index.js';
import {
  ackPacket,
  authPacket,
  connectPacket,
  disconnectPacket,
  publishPacket,
  subscribePacket,
  unsubscribePacket,
} from '../unit/codec/arbitraries.js';
import { varint } from './transport-wire.js';

export interface FuzzCase {
  /** Complete a valid CONNECT (this version) before the fuzz bytes; undefined = fuzz from the first byte. */
  connectFirst: 4 | 5 | undefined;
  /** The fuzz bytes, in the writes they are sent as. */
  writes: Buffer[];
  /** What produced it, for the failure message. */
  label: string;
}

/** A valid client-to-server packet of `version`, encoded. */
function validPacket(version: ProtocolVersion): fc.Arbitrary<{ name: string; bytes: Buffer }> {
  const arbs: fc.Arbitrary<Packet>[] = [
    connectPacket(version),
    publishPacket(version),
    publishPacket(version),
    subscribePacket(version),
    unsubscribePacket(version),
    ackPacket(version, 4),
    ackPacket(version, 5),
    ackPacket(version, 6),
    ackPacket(version, 7),
    fc.constant<Packet>({ type: 12 }),
    disconnectPacket(version),
  ];
  if (version === 5) arbs.push(authPacket());
  return fc.oneof(...arbs).map((p) => ({ name: `type${p.type}`, bytes: encode(p, version) }));
}

type Mutation = (b: Buffer) => Buffer;

const mutation = (other: fc.Arbitrary<Buffer>): fc.Arbitrary<{ name: string; apply: Mutation }> =>
  fc.oneof(
    fc.record({ i: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ i, bit }) => ({
      name: 'bitflip',
      apply: (b: Buffer) => {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        out[i % out.length] ^= 1 << bit;
        return out;
      },
    })),
    fc.record({ i: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }).map(({ i, v }) => ({
      name: 'setbyte',
      apply: (b: Buffer) => {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        out[i % out.length] = v;
        return out;
      },
    })),
    fc.nat().map((n) => ({ name: 'truncate', apply: (b: Buffer) => b.subarray(0, b.length === 0 ? 0 : n % b.length) })),
    fc.record({ o: other, cutA: fc.nat(), cutB: fc.nat() }).map(({ o, cutA, cutB }) => ({
      name: 'splice',
      apply: (b: Buffer) => Buffer.concat([b.subarray(0, cutA % (b.length + 1)), o.subarray(cutB % (o.length + 1))]),
    })),
    fc.record({ i: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 16 }) }).map(({ i, junk }) => ({
      name: 'insert',
      apply: (b: Buffer) => {
        const at = i % (b.length + 1);
        return Buffer.concat([b.subarray(0, at), Buffer.from(junk), b.subarray(at)]);
      },
    })),
    fc.integer({ min: 0, max: 268_435_455 }).map((len) => ({
      name: 'relength',
      apply: (b: Buffer) => {
        if (b.length < 2) return b;
        let i = 1;
        while (i < b.length && i < 5 && (b[i] & 0x80) !== 0) i++;
        return Buffer.concat([b.subarray(0, 1), Buffer.from(varint(len)), b.subarray(i + 1)]);
      },
    })),
    fc.integer({ min: 2, max: 20 }).map((n) => ({ name: 'repeat', apply: (b: Buffer) => Buffer.concat(Array.from({ length: n }, () => b)) })),
  );

function mutated(version: ProtocolVersion): fc.Arbitrary<{ label: string; bytes: Buffer }> {
  const packetBytes = validPacket(version).map((p) => p.bytes);
  return fc
    .record({
      base: fc.array(validPacket(version), { minLength: 1, maxLength: 4 }),
      muts: fc.array(mutation(packetBytes), { minLength: 1, maxLength: 3 }),
    })
    .map(({ base, muts }) => {
      let bytes: Buffer = Buffer.concat(base.map((p) => p.bytes));
      for (const m of muts) bytes = m.apply(bytes);
      return { label: `${base.map((p) => p.name).join('+')} ${muts.map((m) => m.name).join(',')}`, bytes };
    });
}

const randomBytes: fc.Arbitrary<{ label: string; bytes: Buffer }> = fc
  .uint8Array({ minLength: 1, maxLength: 512 })
  .map((a) => ({ label: 'random', bytes: Buffer.from(a) }));

/** Cuts `bytes` into up to 4 writes at arbitrary points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out.length > 0 ? out : [bytes];
}

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    connectFirst: fc.constantFrom<4 | 5 | undefined>(undefined, 4, 5),
    streamVersion: fc.constantFrom<ProtocolVersion>(4, 5),
    kind: fc.constantFrom('random', 'mutated', 'mutated'),
    cuts: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .chain(({ connectFirst, streamVersion, kind, cuts }) => {
    const v = connectFirst ?? streamVersion;
    const payload = kind === 'random' ? randomBytes : mutated(v);
    return payload.map((p) => ({ connectFirst, writes: chunked(p.bytes, cuts), label: `${connectFirst ? `v${connectFirst} ` : ''}${p.label}` }));
  });
