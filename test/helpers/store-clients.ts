/**
 * A light wire client for the store tests, built for volume (100,000 messages): it decodes
 * with the project's codec, can acknowledge every inbound PUBLISH by itself (PUBACK, or
 * PUBREC then PUBCOMP on PUBREL), counts acknowledgements of its own publishes, and sends
 * many packets in one write. Every wait has a deadline and is woken by packets, not timers.
 */
import { connect, type Socket } from 'node:net';
import {
  encode,
  MqttDecoder,
  type AckPacket,
  type ConnackPacket,
  type ConnectPacket,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
} from '../../src/codec/mqtt/index.js';

export interface ReceivedPublish {
  topic: string;
  payload: Buffer;
  qos: number;
  dup: boolean;
  retain: boolean;
  packetId: number | undefined;
}

export class StoreClient {
  /** Inbound PUBLISH packets, in arrival order (unless `record` is false). */
  readonly publishes: ReceivedPublish[] = [];
  /** Every other packet, in arrival order. */
  readonly others: Packet[] = [];
  /** Type and packet id of every inbound packet, in arrival order (when `record`). */
  readonly order: Array<{ type: number; packetId: number | undefined }> = [];
  publishCount = 0;
  /** Acknowledgements of our publishes by packet id (when `record`): PUBACK / PUBREC. */
  readonly acks = new Map<number, AckPacket>();
  /** PUBACK / PUBREC received, and how many of them carried a failure code. */
  ackCount = 0;
  ackFailures = 0;
  closed = false;
  /** Acknowledge automatically: inbound QoS 1/2 publishes, PUBREL (PUBCOMP), and our QoS 2 PUBREC (PUBREL). */
  autoAck = true;
  /** Keep the inbound publishes (off for volume tests that only count). */
  record = true;
  onPublish: ((p: PublishPacket) => void) | undefined;
  private readonly decoder: MqttDecoder;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = new MqttDecoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      const out: Packet[] = [];
      this.decoder.push(chunk, (p) => this.handle(p, out));
      if (out.length > 0) this.sendMany(out);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number, version: ProtocolVersion): Promise<StoreClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.off('error', reject);
        resolve(new StoreClient(s, version));
      });
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  /** Connects and returns the client with its CONNACK (which must be a success). */
  static async connect(
    port: number,
    version: ProtocolVersion,
    fields: Partial<ConnectPacket> & { clientId: string },
    opts: { autoAck?: boolean; record?: boolean; onPublish?: (p: PublishPacket) => void } = {},
  ): Promise<{ client: StoreClient; connack: ConnackPacket }> {
    const c = await StoreClient.open(port, version);
    c.autoAck = opts.autoAck ?? true;
    c.record = opts.record ?? true;
    c.onPublish = opts.onPublish; // before CONNECT: a resumed session's messages follow the CONNACK at once
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, ...fields });
    const connack = (await c.nextOther(2, 5000)) as ConnackPacket;
    if (connack.reasonCode !== 0) throw new Error(`CONNACK ${JSON.stringify(connack)}`);
    return { client: c, connack };
  }

  private handle(p: Packet, out: Packet[]): void {
    if (this.record) this.order.push({ type: p.type, packetId: 'packetId' in p ? p.packetId : undefined });
    if (p.type === 3) {
      this.publishCount++;
      if (this.record) {
        this.publishes.push({ topic: p.topic, payload: p.payload, qos: p.qos, dup: p.dup, retain: p.retain, packetId: p.packetId });
      }
      this.onPublish?.(p);
      if (this.autoAck && p.qos === 1) out.push({ type: 4, packetId: p.packetId! });
      else if (this.autoAck && p.qos === 2) out.push({ type: 5, packetId: p.packetId! });
      return;
    }
    if (p.type === 4 || p.type === 5) {
      if (this.record) this.acks.set(p.packetId, p);
      this.ackCount++;
      if ((p.reasonCode ?? 0) >= 0x80) this.ackFailures++;
      if (p.type === 5 && this.autoAck && (p.reasonCode ?? 0) < 0x80) out.push({ type: 6, packetId: p.packetId });
      return;
    }
    if (p.type === 6 && this.autoAck) out.push({ type: 7, packetId: p.packetId });
    this.others.push(p);
  }

  send(p: Packet): void {
    this.socket.write(encode(p, this.version));
  }

  /** Encodes every packet and writes them as one chunk. */
  sendMany(ps: Packet[]): void {
    this.socket.write(Buffer.concat(ps.map((p) => encode(p, this.version))));
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves once `cond` holds (checked on every inbound chunk and on close). */
  waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what} (received ${this.publishCount} publishes, ${this.acks.size} acks, closed=${this.closed})`));
      }, timeoutMs);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** The next non-PUBLISH, non-ack packet of `type`, removed from `others`. */
  async nextOther(type: number, timeoutMs = 5000): Promise<Packet> {
    let found: Packet | undefined;
    await this.waitUntil(
      () => {
        const i = this.others.findIndex((p) => p.type === type);
        if (i >= 0) found = this.others.splice(i, 1)[0];
        else if (this.closed) throw new Error(`connection closed while waiting for packet type ${type}`);
        return found !== undefined;
      },
      timeoutMs,
      `packet type ${type}`,
    );
    return found!;
  }

  /** Publishes and waits for the PUBACK / PUBREC; returns its reason code (0 when absent). */
  async publishAcked(p: Omit<PublishPacket, 'type' | 'dup'> & { packetId: number }, timeoutMs = 5000): Promise<AckPacket> {
    this.acks.delete(p.packetId);
    this.send({ type: 3, dup: false, ...p });
    await this.waitUntil(() => this.acks.has(p.packetId) || this.closed, timeoutMs, `ack of packet ${p.packetId}`);
    const ack = this.acks.get(p.packetId);
    if (ack === undefined) throw new Error(`connection closed before the ack of packet ${p.packetId}`);
    return ack;
  }

  /** SUBSCRIBE and wait for the SUBACK; returns its reason codes. */
  async subscribe(filter: string, qos: 0 | 1 | 2, opts: { subscriptionId?: number; packetId?: number } = {}): Promise<number[]> {
    const packetId = opts.packetId ?? 1;
    this.send({
      type: 8,
      packetId,
      subscriptions: [{ topic: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      ...(opts.subscriptionId !== undefined && this.version === 5 ? { properties: { subscriptionIdentifiers: [opts.subscriptionId] } } : {}),
    });
    const suback = (await this.nextOther(9)) as { reasonCodes: number[] };
    return suback.reasonCodes;
  }

  /** PINGREQ and wait for PINGRESP: everything the server sent before it has arrived. */
  async ping(timeoutMs = 5000): Promise<void> {
    this.send({ type: 12 });
    await this.nextOther(13, timeoutMs);
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    return this.waitUntil(() => this.closed, timeoutMs, 'close');
  }

  /** Clean DISCONNECT (reason 0: the will is discarded) and close. */
  disconnect(): void {
    if (this.closed) return;
    this.send({ type: 14, reasonCode: 0 });
    this.socket.end();
  }

  /** Drop the TCP connection without DISCONNECT. */
  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Publishes `count` QoS 1 messages in windows of `window` unacknowledged ones (one write per
 * window), waiting for every acknowledgement. Returns how many were refused.
 */
export async function publishMany(
  c: StoreClient,
  count: number,
  make: (i: number) => { topic: string; payload: Buffer; retain?: boolean; properties?: Properties },
  window = 500,
  timeoutMs = 60_000,
): Promise<number> {
  const failures0 = c.ackFailures;
  let sent = 0;
  let pid = 0;
  const target = c.ackCount + count;
  while (sent < count) {
    const n = Math.min(window, count - sent);
    const batch: Packet[] = [];
    for (let k = 0; k < n; k++) {
      const m = make(sent + k + 1);
      pid = (pid % 65_535) + 1;
      batch.push({ type: 3, topic: m.topic, payload: m.payload, qos: 1, retain: m.retain ?? false, dup: false, packetId: pid, ...(m.properties ? { properties: m.properties } : {}) });
    }
    sent += n;
    const until = target - (count - sent);
    c.sendMany(batch);
    await c.waitUntil(() => c.ackCount >= until || c.closed, timeoutMs, `${until} acks`);
    if (c.closed) throw new Error('publisher connection closed');
  }
  return c.ackFailures - failures0;
}

/** Sequence number carried in the first 8 bytes of a test payload. */
export function seqPayload(n: number, size = 16): Buffer {
  const b = Buffer.alloc(Math.max(8, size));
  b.writeUInt32BE(n, 0);
  b.writeUInt32BE(~n >>> 0, 4);
  return b;
}

export function seqOf(payload: Buffer): number {
  if (payload.readUInt32BE(4) !== (~payload.readUInt32BE(0) >>> 0)) throw new Error('not a seqPayload');
  return payload.readUInt32BE(0);
}
