/**
 * Hand-built bytes for the raw wire tests (test/wire/**) and the check every one of them
 * makes: a v5 client gets DISCONNECT with the expected reason code and a Reason String
 * (MQTT5 4.13.1), a 3.1.1 client just sees the connection closed (MQTT-4.8.0-1), the
 * broker counts the malformed packet, and nobody else is disturbed.
 */
import { expect } from 'vitest';
import type { DisconnectPacket, ProtocolVersion } from '../../src/codec/mqtt/index.js';
import type { TestBroker } from './broker.js';
import { RawClient } from './raw-client.js';
import type { Bystander } from './transport-clients.js';

/** MQTT Variable Byte Integer (MQTT5 1.5.5 / 3.1.1 2.2.3), always minimally encoded. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Two-byte big-endian integer. */
export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

/** A length-prefixed string field from raw bytes (so that invalid UTF-8 can be sent). */
export function strBytes(bytes: number[] | Buffer): number[] {
  const b = [...bytes];
  return [...u16(b.length), ...b];
}

/** A length-prefixed string field from a JS string (encoded as UTF-8). */
export function str(s: string): number[] {
  return strBytes(Buffer.from(s, 'utf8'));
}

/** A whole packet: first byte, correct remaining length, body. */
export function packet(byte1: number, body: number[]): Buffer {
  return Buffer.from([byte1, ...varint(body.length), ...body]);
}

/** v5 property section: property length then the raw property bytes. */
export function props(bytes: number[]): number[] {
  return [...varint(bytes.length), ...bytes];
}

export interface RefusalExpectation {
  /** The v5 DISCONNECT reason code (ignored for 3.1.1 clients, which only see the close). */
  reasonCode: number;
  /** Whether broker.stats.malformedPackets must count this one (decoder-level failures). */
  countsAsMalformed: boolean;
}

/**
 * Connects a raw client of `version`, sends `bytes` after CONNACK, and checks what the
 * broker does. Returns the DISCONNECT (v5) for further assertions.
 */
export async function expectRefusedAfterConnect(
  tb: TestBroker,
  version: ProtocolVersion,
  bytes: Buffer | number[],
  exp: RefusalExpectation,
  bystander?: Bystander,
): Promise<DisconnectPacket | undefined> {
  const c = await RawClient.connected(tb.port, version);
  return expectRefused(tb, c, bytes, exp, bystander);
}

/** As expectRefusedAfterConnect, on a client the caller has prepared. */
export async function expectRefused(
  tb: TestBroker,
  c: RawClient,
  bytes: Buffer | number[],
  exp: RefusalExpectation,
  bystander?: Bystander,
): Promise<DisconnectPacket | undefined> {
  const stats = tb.broker.stats;
  const malformedBefore = stats.malformedPackets;
  const rcBefore = stats.serverReasonCodes.get(exp.reasonCode) ?? 0;
  c.send(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  let disconnect: DisconnectPacket | undefined;
  try {
    if (c.version === 5) {
      disconnect = (await c.next(14, 5_000)) as DisconnectPacket;
      expect(disconnect.reasonCode, `DISCONNECT reason code (reason string: ${disconnect.properties?.reasonString})`).toBe(exp.reasonCode);
      // MQTT5 3.14.2.2.3: the Reason String says what was wrong, for a human.
      expect(typeof disconnect.properties?.reasonString).toBe('string');
      expect(disconnect.properties!.reasonString!.length).toBeGreaterThan(0);
    }
    await c.waitClosed(5_000);
    // Nothing but (for v5) the DISCONNECT after the CONNACK: 3.1.1 has no way to say why.
    expect(c.packets.map((p) => p.type)).toEqual([]);
    expect(c.decodeError).toBeUndefined();
  } finally {
    c.close();
  }
  if (exp.countsAsMalformed) expect(stats.malformedPackets - malformedBefore).toBe(1);
  // Counted by reason code whatever the version (3.1.1 closes without a packet, but the reason is the same).
  expect((stats.serverReasonCodes.get(exp.reasonCode) ?? 0) - rcBefore).toBe(1);
  if (bystander !== undefined) await bystander.roundTrip();
  return disconnect;
}
