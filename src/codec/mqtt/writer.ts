/**
 * Low-level writing helpers for the encoder. Sizes are computed first, the output buffer
 * is allocated once with its exact length, then filled; these functions return the next
 * write position.
 */
import { encodeError } from './codec-error.js';
import { utf8Write } from './utf8.js';

/** MQTT 2.2.3 / MQTT5 1.5.5. */
export const MAX_VARINT = 268_435_455;

export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

export function writeU16(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2;
}

export function writeU32(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 24;
  buf[pos + 1] = (n >>> 16) & 0xff;
  buf[pos + 2] = (n >>> 8) & 0xff;
  buf[pos + 3] = n & 0xff;
  return pos + 4;
}

/** Byte length of a UTF-8 string field (without its 2-byte prefix); throws past 65,535 (MQTT-1.5.4). */
export function utf8Length(s: string, type: number, what: string): number {
  // Every UTF-16 unit takes at least one byte, so a longer string cannot fit.
  const n = s.length > 0xffff ? s.length : Buffer.byteLength(s, 'utf8');
  if (n > 0xffff) {
    throw encodeError('CODEC_ENCODE_STRING_TOO_LONG', type, `${what} is at least ${n} bytes long, more than 65,535 (MQTT-1.5.4)`);
  }
  return n;
}

/** Write a UTF-8 string field (2-byte length + bytes) whose byte length is `len`. */
export function writeUtf8(buf: Buffer, pos: number, s: string, len: number): number {
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  if (len > 0) utf8Write(buf, s, pos + 2);
  return pos + 2 + len;
}

/** Write a UTF-8 string field, measuring it while writing (its size was checked before). */
export function writeUtf8Field(buf: Buffer, pos: number, s: string): number {
  const n = s.length === 0 ? 0 : utf8Write(buf, s, pos + 2);
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2 + n;
}

/** Length check of a Binary Data field (MQTT5 1.5.6). */
export function binaryLength(b: Buffer, type: number, what: string): number {
  if (b.length > 0xffff) {
    throw encodeError('CODEC_ENCODE_STRING_TOO_LONG', type, `${what} is ${b.length} bytes long, more than 65,535 (MQTT5 1.5.6)`);
  }
  return b.length;
}

export function writeBinary(buf: Buffer, pos: number, b: Buffer): number {
  buf[pos] = b.length >>> 8;
  buf[pos + 1] = b.length & 0xff;
  buf.set(b, pos + 2);
  return pos + 2 + b.length;
}

/** Throws unless n is an integer in [min, max]. */
export function checkInt(n: number, min: number, max: number, type: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw encodeError('CODEC_ENCODE_INVALID_VALUE', type, `${what} must be an integer in [${min}, ${max}], got ${String(n)}`);
  }
  return n;
}

/**
 * Allocate a packet of remaining length `rl` (exact size) and write its fixed header.
 * Returns the buffer; the body starts at 1 + varintSize(rl).
 */
export function allocPacket(byte1: number, rl: number): Buffer {
  if (rl > MAX_VARINT) {
    throw encodeError('CODEC_ENCODE_PACKET_TOO_LARGE', byte1 >> 4, `remaining length ${rl} exceeds 268,435,455 (MQTT 2.2.3)`);
  }
  const buf = Buffer.allocUnsafe(1 + varintSize(rl) + rl);
  buf[0] = byte1;
  writeVarint(buf, 1, rl);
  return buf;
}
