/**
 * Encoding of an MQTT 5 property section (MQTT5 2.2.2). Two passes: `propertiesSize`
 * validates and measures, `writeProperties` writes. A property that the packet type
 * does not allow (table 2-4) is left out rather than put on the wire, where it would be
 * a Malformed Packet for the peer; for example Will Properties can be passed as they are
 * to a PUBLISH and willDelayInterval is dropped. Repeated user properties are written in
 * order, and every subscription identifier of the list is written.
 */
import type { Properties, UserProperty } from './packets.js';
import {
  KIND_BINARY,
  KIND_BYTE,
  KIND_FOUR_BYTE,
  KIND_PAIR,
  KIND_TWO_BYTE,
  KIND_UTF8,
  KIND_VAR_INT,
  PROPERTY_BY_NAME,
} from './property-table.js';
import {
  MAX_VARINT,
  binaryLength,
  checkInt,
  utf8Length,
  varintSize,
  writeU16,
  writeU32,
  writeUtf8Field,
  writeVarint,
} from './writer.js';

type PropertyValue = Properties[keyof Properties];

function value(p: Properties, key: string): PropertyValue {
  return p[key as keyof Properties];
}

/**
 * Size of the property list (without the Property Length prefix) for a packet of
 * control type `type` (ctx = 1 << type, or CTX_WILL). Throws CodecError for values that
 * cannot be encoded (integer out of range for its data type, string over 65,535 bytes).
 */
export function propertiesSize(p: Properties | undefined, ctx: number, type: number): number {
  if (p === undefined) return 0;
  let n = 0;
  for (const key in p) {
    const def = PROPERTY_BY_NAME[key];
    if (def === undefined || (def.allowed & ctx) === 0) continue;
    const v = value(p, key);
    if (v === undefined) continue;
    switch (def.kind) {
      case KIND_BYTE:
        checkInt(v as number, 0, 0xff, type, key);
        n += 2;
        break;
      case KIND_TWO_BYTE:
        checkInt(v as number, 0, 0xffff, type, key);
        n += 3;
        break;
      case KIND_FOUR_BYTE:
        checkInt(v as number, 0, 0xffffffff, type, key);
        n += 5;
        break;
      case KIND_VAR_INT:
        for (const id of v as number[]) n += 1 + varintSize(checkInt(id, 0, MAX_VARINT, type, key));
        break;
      case KIND_UTF8:
        n += 3 + utf8Length(v as string, type, key);
        break;
      case KIND_BINARY:
        n += 3 + binaryLength(v as Buffer, type, key);
        break;
      case KIND_PAIR:
        for (const pair of v as UserProperty[]) {
          n += 5 + utf8Length(pair[0], type, 'user property name') + utf8Length(pair[1], type, 'user property value');
        }
        break;
    }
  }
  return n;
}

/** Write Property Length `size` (from propertiesSize with the same ctx) and the properties. */
export function writeProperties(buf: Buffer, pos: number, p: Properties | undefined, ctx: number, size: number): number {
  pos = writeVarint(buf, pos, size);
  if (size === 0 || p === undefined) return pos;
  for (const key in p) {
    const def = PROPERTY_BY_NAME[key];
    if (def === undefined || (def.allowed & ctx) === 0) continue;
    const v = value(p, key);
    if (v === undefined) continue;
    const id = def.id;
    switch (def.kind) {
      case KIND_BYTE:
        buf[pos] = id;
        buf[pos + 1] = v as number;
        pos += 2;
        break;
      case KIND_TWO_BYTE:
        buf[pos] = id;
        pos = writeU16(buf, pos + 1, v as number);
        break;
      case KIND_FOUR_BYTE:
        buf[pos] = id;
        pos = writeU32(buf, pos + 1, v as number);
        break;
      case KIND_VAR_INT:
        for (const sid of v as number[]) {
          buf[pos] = id;
          pos = writeVarint(buf, pos + 1, sid);
        }
        break;
      case KIND_UTF8:
        buf[pos] = id;
        pos = writeUtf8Field(buf, pos + 1, v as string);
        break;
      case KIND_BINARY: {
        const b = v as Buffer;
        buf[pos] = id;
        writeU16(buf, pos + 1, b.length);
        buf.set(b, pos + 3);
        pos += 3 + b.length;
        break;
      }
      case KIND_PAIR:
        for (const pair of v as UserProperty[]) {
          buf[pos] = id;
          pos = writeUtf8Field(buf, pos + 1, pair[0]);
          pos = writeUtf8Field(buf, pos, pair[1]);
        }
        break;
    }
  }
  return pos;
}
