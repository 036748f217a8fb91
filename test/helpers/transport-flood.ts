/**
 * Load generators for the slow-consumer and backpressure tests, on raw sockets so that
 * the test controls exactly when bytes are read and written:
 * - RawPublisher: publishes numbered 1 KiB messages as fast as the socket takes them
 *   (honouring write backpressure), QoS 0, or QoS 1 with a window of unacknowledged
 *   packets; remembers which sequence numbers were acknowledged.
 * - RawSubscriber: subscribes, then either never reads again (pause) or reads slowly,
 *   acknowledging QoS 1 deliveries; records the sequence numbers it received.
 * Payload byte 0..3 = sequence number (uint32 BE).
 */
import { connect, type Socket } from 'node:net';
import { encode, MqttDecoder, type Packet, type ProtocolVersion, type PublishPacket } from '../../src/codec/mqtt/index.js';
import { withTimeout } from './transport-wait.js';

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Resolves with the first decoded packet of `type` (CONNACK, SUBACK) arriving on `socket`. */
function awaitPacket(socket: Socket, decoder: MqttDecoder, type: number, what: string): Promise<Packet> {
  return withTimeout(
    new Promise<Packet>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        decoder.push(chunk, (p) => {
          if (p.type === type) {
            socket.off('data', onData);
            resolve(p);
            return false;
          }
          return true;
        });
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error(`closed before ${what}`)));
    }),
    5_000,
    what,
  );
}

async function mqttConnect(port: number, version: ProtocolVersion, clientId: string, receiveMaximum?: number) {
  const socket = await openSocket(port);
  const decoder = new MqttDecoder({ protocolVersion: version });
  const properties = version === 5 ? (receiveMaximum === undefined ? {} : { receiveMaximum }) : undefined;
  socket.write(encode({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, properties }, version));
  const ack = (await awaitPacket(socket, decoder, 2, `CONNACK for ${clientId}`)) as { reasonCode: number };
  if (ack.reasonCode !== 0) throw new Error(`CONNACK ${ack.reasonCode} for ${clientId}`);
  return { socket, decoder };
}

export function seqOf(payload: Buffer): number {
  return payload.readUInt32BE(0);
}

export class RawPublisher {
  /** Sequence numbers whose PUBACK (reason < 0x80) arrived. */
  readonly acked: number[] = [];
  readonly refused: number[] = [];
  /** Times socket.write() returned false: the broker stopped reading us. */
  writeStalls = 0;
  closed = false;
  private readonly inflight = new Map<number, number>();
  private wakeUp: (() => void) | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly decoder: MqttDecoder,
    readonly version: ProtocolVersion,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk, (p) => {
        if (p.type !== 4) return;
        const seq = this.inflight.get(p.packetId);
        if (seq === undefined) return;
        this.inflight.delete(p.packetId);
        if ((p.reasonCode ?? 0) < 0x80) this.acked.push(seq);
        else this.refused.push(seq);
        this.wake();
      });
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('drain', () => this.wake());
    socket.on('error', () => {});
  }

  static async connect(port: number, version: ProtocolVersion, clientId: string): Promise<RawPublisher> {
    const { socket, decoder } = await mqttConnect(port, version, clientId);
    return new RawPublisher(socket, decoder, version);
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleepUntilWoken(): Promise<void> {
    return new Promise((r) => (this.wakeUp = r));
  }

  /**
   * Publishes `count` messages of `size` bytes to `topic`. QoS 1 keeps at most `window`
   * unacknowledged. Resolves when everything was written (QoS 0) or acknowledged (QoS 1).
   */
  async publish(topic: string, count: number, size: number, qos: 0 | 1, window = 256): Promise<void> {
    const payloadTemplate = Buffer.alloc(size, 0x2a);
    const batch: Buffer[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const ok = this.socket.write(Buffer.concat(batch));
      batch.length = 0;
      if (!ok) {
        this.writeStalls++;
        while (this.socket.writableNeedDrain && !this.closed) await this.sleepUntilWoken();
      }
    };
    for (let seq = 0; seq < count; seq++) {
      if (this.closed) throw new Error(`publisher connection closed at message ${seq}`);
      const payload = Buffer.from(payloadTemplate);
      payload.writeUInt32BE(seq, 0);
      const packetId = qos === 1 ? (seq % 0xffff) + 1 : undefined;
      if (qos === 1) {
        while (this.inflight.size >= window && !this.closed) {
          await flush();
          if (this.inflight.size >= window) await this.sleepUntilWoken();
        }
        this.inflight.set(packetId!, seq);
      }
      const p: PublishPacket = { type: 3, topic, payload, qos, retain: false, dup: false, packetId, properties: this.version === 5 ? {} : undefined };
      batch.push(encode(p, this.version));
      if (batch.length >= 32) await flush();
    }
    await flush();
    while (qos === 1 && this.inflight.size > 0) {
      if (this.closed) throw new Error(`publisher connection closed with ${this.inflight.size} unacknowledged`);
      await this.sleepUntilWoken();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export class RawSubscriber {
  readonly received: number[] = [];
  bytesReceived = 0;
  closed = false;
  disconnectReason: number | undefined;
  private readDelayMs = 0;

  private constructor(
    readonly socket: Socket,
    private readonly decoder: MqttDecoder,
    readonly version: ProtocolVersion,
  ) {
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** Connects, subscribes to `filter` at `qos` and waits for the SUBACK. */
  static async subscribe(
    port: number,
    version: ProtocolVersion,
    clientId: string,
    filter: string,
    qos: 0 | 1,
    receiveMaximum?: number,
  ): Promise<RawSubscriber> {
    const { socket, decoder } = await mqttConnect(port, version, clientId, receiveMaximum);
    socket.write(
      encode({ type: 8, packetId: 1, subscriptions: [{ topic: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: version === 5 ? {} : undefined }, version),
    );
    const suback = (await awaitPacket(socket, decoder, 9, `SUBACK for ${clientId}`)) as { reasonCodes: number[] };
    if (suback.reasonCodes[0] !== qos) throw new Error(`SUBACK ${suback.reasonCodes[0]}`);
    return new RawSubscriber(socket, decoder, version);
  }

  /** Stops reading for good: the kernel buffers fill, then the broker's. */
  stall(): void {
    this.socket.pause();
  }

  /** Reads (and acknowledges QoS 1) but takes a pause of `delayMs` after each chunk. */
  readSlowly(delayMs: number): void {
    this.readDelayMs = delayMs;
    this.socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
  }

  private onChunk(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const acks: Buffer[] = [];
    this.decoder.push(chunk, (p) => {
      if (p.type === 3) {
        this.received.push(seqOf(p.payload));
        if (p.qos === 1) acks.push(encode({ type: 4, packetId: p.packetId!, reasonCode: 0 }, this.version));
      } else if (p.type === 14) {
        this.disconnectReason = p.reasonCode ?? 0;
      }
    });
    if (acks.length > 0) this.socket.write(Buffer.concat(acks));
    if (this.readDelayMs > 0) {
      // Simulates a slow device: not a synchronisation, just the consumer's speed.
      this.socket.pause();
      setTimeout(() => this.socket.resume(), this.readDelayMs);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
