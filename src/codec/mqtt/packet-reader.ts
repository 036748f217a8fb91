/**
 * A bounds-checked cursor over the body of one packet. The decoder owns one instance and
 * re-points it at each packet, so reading allocates nothing but the values returned.
 * Every read checks `end` first: a field running past its packet (or past its property
 * section, see `end` narrowing in readProperties) is a Malformed Packet (MQTT5 4.13).
 */
import { malformed } from './codec-error.js';
import { isMqttUtf8, utf8Slice } from './utf8.js';

const EMPTY = Buffer.alloc(0);

export class PacketReader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** Control packet type of the packet being read, for error messages. */
  type = 0;
  /** What `end` bounds right now, for error messages: the packet or a property section. */
  scope = 'packet';

  reset(buf: Buffer, pos: number, end: number, type: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.type = type;
    this.scope = 'packet';
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw this.short(what);
    return this.buf[this.pos++];
  }

  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw this.short(what);
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  u32(what: string): number {
    const p = this.pos;
    if (p + 4 > this.end) throw this.short(what);
    this.pos = p + 4;
    const b = this.buf;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** Variable Byte Integer (MQTT5 1.5.5): at most 4 bytes, max 268,435,455. */
  varint(what: string): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 0x80;
    }
    throw malformed(this.type, `${what} is a variable byte integer longer than 4 bytes (MQTT5 1.5.5)`);
  }

  /** UTF-8 Encoded String (MQTT-1.5.4): 2-byte length, well-formed, no U+0000. */
  utf8(what: string): string {
    const len = this.u16(what);
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw this.short(what);
    if (!isMqttUtf8(this.buf, start, end)) {
      throw malformed(this.type, `${what} is not well-formed UTF-8 or contains U+0000 (MQTT-1.5.4-1, MQTT-1.5.4-2)`);
    }
    this.pos = end;
    return utf8Slice(this.buf, start, end);
  }

  /** Binary Data (MQTT5 1.5.6): 2-byte length. Returns a view, not a copy. */
  binary(what: string): Buffer {
    const len = this.u16(what);
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw this.short(what);
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** The rest of the packet as a view (PUBLISH payload). */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }

  /** MQTT5 4.13 / 3.1.1 4.8: bytes left over where the packet has no more content. */
  expectEnd(after: string): void {
    if (this.pos !== this.end) {
      throw malformed(this.type, `${this.end - this.pos} unexpected byte(s) after ${after}`);
    }
  }

  private short(what: string): Error {
    return malformed(this.type, `${what} runs past the end of the ${this.scope}`);
  }
}
