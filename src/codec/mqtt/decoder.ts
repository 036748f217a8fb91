/**
 * Streaming MQTT decoder. Bytes are pushed as they arrive; every complete packet is
 * decoded and handed to the callback in order.
 *
 * Zero-copy: a packet that lies entirely inside one pushed chunk is decoded in place, so
 * PUBLISH payloads and binary fields (password, will payload, correlation/authentication
 * data) are `subarray` views into that chunk. The caller must not reuse or mutate a chunk
 * after pushing it, and a layer that keeps a payload for long (retained store, offline
 * queue) may want to copy it so the whole chunk can be collected. Only a packet that
 * straddles chunks is copied, once, into a buffer of its exact size when its last byte has
 * arrived.
 *
 * Safety: nothing is allocated according to a length before the bytes arrived; the
 * Maximum Packet Size (MQTT5 3.1.2.11.4) is enforced from the fixed header alone, before
 * the body is buffered; every failure is a CodecError, after which the decoder stays
 * failed (every later call throws the same error).
 */
import { CodecError, malformed, packetTooLarge } from './codec-error.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { PacketReader } from './packet-reader.js';
import { decodeBody, firstByteError } from './decode-packet.js';

export interface DecoderOptions {
  /** Largest packet accepted, fixed header included (MQTT5 3.1.2.11.4). Default: no limit beyond the protocol's. */
  maxPacketSize?: number;
  /** Known up front on the client side; learnt from CONNECT on the server side. */
  protocolVersion?: ProtocolVersion;
}

/** Return `false` to stop decoding after this packet (backpressure); see `resume`. */
export type PacketHandler = (packet: Packet) => boolean | void;

/** 1 byte of type + 4 bytes of remaining length + 268,435,455 (MQTT 2.2.3). */
export const MAX_PROTOCOL_PACKET_SIZE = 268_435_455 + 5;

/**
 * Decoding is synchronous and never re-enters, so every decoder shares one reader
 * (one object less per connection).
 */
const sharedReader = new PacketReader();

export class MqttDecoder {
  /** Set from the first CONNECT decoded when not given; until then packets decode as 3.1.1. */
  protocolVersion: ProtocolVersion | undefined;
  maxPacketSize: number;

  /** Bytes received but not yet decoded, oldest first. */
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  /** Total size of the first held packet once its fixed header is complete, else -1. */
  private heldPacketSize = -1;
  private failure: CodecError | undefined;

  constructor(opts: DecoderOptions = {}) {
    this.maxPacketSize = opts.maxPacketSize ?? MAX_PROTOCOL_PACKET_SIZE;
    this.protocolVersion = opts.protocolVersion;
  }

  /** Bytes held waiting for the rest of their packet (or for `resume`). */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** The error that failed this decoder, if any. */
  get error(): CodecError | undefined {
    return this.failure;
  }

  /**
   * Decode every complete packet of the bytes pushed so far. Pushing while paused (after
   * the handler returned false) appends the chunk and continues decoding, as `resume`.
   */
  push(chunk: Buffer, onPacket: PacketHandler): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.heldBytes === 0) {
      if (chunk.length > 0) this.run(chunk, 0, onPacket);
      return;
    }
    if (chunk.length > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    }
    this.drainHeld(onPacket);
  }

  /** Continue decoding held bytes after the handler returned false. */
  resume(onPacket: PacketHandler): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.heldBytes > 0) this.drainHeld(onPacket);
  }

  /** Decode packets from held bytes: the first packet may span several chunks. */
  private drainHeld(onPacket: PacketHandler): void {
    const held = this.held;
    for (;;) {
      if (held.length === 0) return;
      if (held.length === 1) {
        const only = held[0];
        this.clearHeld();
        this.run(only, 0, onPacket);
        return;
      }
      if (this.heldPacketSize < 0) {
        this.heldPacketSize = this.heldHeaderSize();
        if (this.heldPacketSize < 0) return;
      }
      if (this.heldBytes < this.heldPacketSize) return;
      if (this.run(this.takeHeld(this.heldPacketSize), 0, onPacket)) return; // paused
    }
  }

  /** Remove the first `size` held bytes (all arrived) and return them as one buffer. */
  private takeHeld(size: number): Buffer {
    const held = this.held;
    const out = Buffer.allocUnsafe(size);
    let copied = 0;
    let consumed = 0;
    while (copied < size) {
      const part = held[consumed];
      const take = Math.min(part.length, size - copied);
      part.copy(out, copied, 0, take);
      copied += take;
      if (take === part.length) consumed++;
      else held[consumed] = part.subarray(take);
    }
    held.splice(0, consumed);
    this.heldBytes -= size;
    this.heldPacketSize = -1;
    return out;
  }

  private clearHeld(): void {
    this.held.length = 0;
    this.heldBytes = 0;
    this.heldPacketSize = -1;
  }

  /** Byte `index` of the held bytes (index < heldBytes). */
  private heldByte(index: number): number {
    for (const part of this.held) {
      if (index < part.length) return part[index];
      index -= part.length;
    }
    return 0;
  }

  /** Total size of the first held packet from its fixed header, or -1 if incomplete. */
  private heldHeaderSize(): number {
    const byte1 = this.heldByte(0);
    this.checkFirst(byte1);
    let remaining = 0;
    let mul = 1;
    for (let i = 1; i <= 4; i++) {
      if (i >= this.heldBytes) return -1;
      const b = this.heldByte(i);
      remaining += (b & 0x7f) * mul;
      if (b < 0x80) return this.checkSize(byte1, i + 1 + remaining);
      mul *= 0x80;
    }
    throw this.fail(malformed(byte1 >> 4, 'remaining length is longer than 4 bytes (MQTT-1.5.5-1, MQTT 2.2.3)'));
  }

  /**
   * Decode the packets of buf[start..] in place; keeps the unconsumed tail. Returns true
   * when the handler asked to pause.
   */
  private run(buf: Buffer, start: number, onPacket: PacketHandler): boolean {
    const end = buf.length;
    let pos = start;
    let paused = false;
    try {
      while (pos < end) {
        const byte1 = buf[pos];
        this.checkFirst(byte1);
        // Remaining length (MQTT 2.2.3): a Variable Byte Integer of at most 4 bytes.
        let i = pos + 1;
        let remaining = 0;
        let mul = 1;
        let complete = false;
        while (i < end) {
          const b = buf[i++];
          remaining += (b & 0x7f) * mul;
          if (b < 0x80) {
            complete = true;
            break;
          }
          if (i - pos > 4) {
            throw this.fail(malformed(byte1 >> 4, 'remaining length is longer than 4 bytes (MQTT-1.5.5-1, MQTT 2.2.3)'));
          }
          mul *= 0x80;
        }
        if (!complete) break;
        const size = this.checkSize(byte1, i - pos + remaining);
        if (end - pos < size) break;
        const packet = this.decodeOne(byte1, buf, i, pos + size);
        pos += size;
        if (onPacket(packet) === false) {
          paused = true;
          break;
        }
      }
    } finally {
      if (this.failure === undefined && pos < end) {
        this.held.push(pos === 0 ? buf : buf.subarray(pos));
        this.heldBytes += end - pos;
      }
    }
    return paused;
  }

  private decodeOne(byte1: number, buf: Buffer, start: number, end: number): Packet {
    let packet: Packet;
    try {
      packet = decodeBody(sharedReader, byte1, buf, start, end, this.protocolVersion ?? 4);
    } catch (err) {
      if (err instanceof CodecError) throw this.fail(err);
      // A bug of ours must still surface as a CodecError (the contract of push).
      throw this.fail(malformed(byte1 >> 4, `undecodable packet (${String(err)})`));
    }
    if (packet.type === 1 && this.protocolVersion === undefined) this.protocolVersion = packet.protocolVersion;
    return packet;
  }

  private checkFirst(byte1: number): void {
    const err = firstByteError(byte1, this.protocolVersion ?? 4);
    if (err !== undefined) throw this.fail(err);
  }

  private checkSize(byte1: number, size: number): number {
    if (size > this.maxPacketSize) throw this.fail(packetTooLarge(byte1 >> 4, size, this.maxPacketSize));
    return size;
  }

  private fail(err: CodecError): CodecError {
    this.failure = err;
    this.clearHeld();
    return err;
  }
}
