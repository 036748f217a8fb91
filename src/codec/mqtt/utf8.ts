/**
 * UTF-8 helpers for MQTT strings (MQTT-1.5.4). Reading validates in the same pass that
 * finds the common all-ASCII case; only strings with bytes >= 0x80 go to the native
 * `isUtf8` (which rejects overlong forms and UTF-16 surrogates, MQTT-1.5.4-1).
 *
 * Buffer#utf8Slice / Buffer#utf8Write are the undocumented methods that back
 * Buffer#toString('utf8') and Buffer#write(..., 'utf8') without their argument juggling;
 * they have existed in every Node release. If a runtime ever lacks them we fall back to
 * the public methods.
 */
import { isUtf8 } from 'node:buffer';

interface BufferFastPaths {
  utf8Slice(start: number, end: number): string;
  utf8Write(value: string, offset: number, length?: number): number;
}

const proto = Buffer.prototype as unknown as Partial<BufferFastPaths>;
const HAS_FAST_PATHS = typeof proto.utf8Slice === 'function' && typeof proto.utf8Write === 'function';

/** Decode buf[start, end) as UTF-8 (the caller has validated it). */
export const utf8Slice: (buf: Buffer, start: number, end: number) => string = HAS_FAST_PATHS
  ? (buf, start, end) => (buf as unknown as BufferFastPaths).utf8Slice(start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);

/** Write `value` at `offset`; returns the number of bytes written. The buffer must have room. */
export const utf8Write: (buf: Buffer, value: string, offset: number) => number = HAS_FAST_PATHS
  ? (buf, value, offset) => (buf as unknown as BufferFastPaths).utf8Write(value, offset)
  : (buf, value, offset) => buf.write(value, offset, 'utf8');

/**
 * True when buf[start, end) is well-formed UTF-8 (MQTT-1.5.4-1) without U+0000
 * (MQTT-1.5.4-2). U+0000 can only be encoded as the byte 0x00 in well-formed UTF-8.
 */
export function isMqttUtf8(buf: Buffer, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === 0) return false;
    if (c > 0x7f) ascii = false;
  }
  return ascii || isUtf8(buf.subarray(start, end));
}
