/**
 * Builders of raw MQTT bytes for validation tests, and a helper that decodes bytes and
 * returns the CodecError (or the packets).
 */
import { CodecError, MqttDecoder, type Packet, type ProtocolVersion } from '../../../src/codec/mqtt/index.js';

export type Part = number | number[] | Buffer;

export function cat(...parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A packet: first byte, remaining length computed from the body. */
export function pkt(byte1: number, ...body: Part[]): Buffer {
  const b = cat(...body);
  return cat(byte1, varint(b.length), b);
}

/** A length-prefixed UTF-8 string (or raw bytes given as an array/Buffer). */
export function str(s: string | number[] | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return cat([b.length >> 8, b.length & 0xff], b);
}

export function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A property section: Property Length + the given property bytes. */
export function props(...parts: Part[]): Buffer {
  const b = cat(...parts);
  return cat(varint(b.length), b);
}

/** CONNECT variable header + payload bytes for "MQTT" level `level` with given flags. */
export function connectBody(level: number, flags: number, rest: Part[], name = 'MQTT'): Part[] {
  return [str(name), level, flags, u16(60), ...rest];
}

export interface DecodeResult {
  packets: Packet[];
  error: CodecError | undefined;
}

/** Decode bytes with a fresh decoder (version given, or learnt from CONNECT). */
export function decode(bytes: Buffer, version?: ProtocolVersion): DecodeResult {
  const d = new MqttDecoder(version === undefined ? {} : { protocolVersion: version });
  const packets: Packet[] = [];
  try {
    d.push(bytes, (p) => void packets.push(p));
    return { packets, error: undefined };
  } catch (e) {
    if (e instanceof CodecError) return { packets, error: e };
    throw e;
  }
}

/** The CodecError the bytes produce; fails the test when they decode. */
export function decodeError(bytes: Buffer, version?: ProtocolVersion): CodecError {
  const r = decode(bytes, version);
  if (r.error === undefined) throw new Error(`expected a CodecError, decoded ${JSON.stringify(r.packets)}`);
  return r.error;
}

/** The single packet the bytes decode to; fails the test on an error. */
export function decodeOne(bytes: Buffer, version?: ProtocolVersion): Packet {
  const r = decode(bytes, version);
  if (r.error !== undefined) throw r.error;
  if (r.packets.length !== 1) throw new Error(`expected one packet, got ${r.packets.length}`);
  return r.packets[0];
}
