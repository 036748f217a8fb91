/**
 * A bare MQTT client over a real socket for wire-level tests: send any bytes (valid or
 * not), read back decoded packets, and see when the server closes the connection. Every
 * wait has a deadline.
 */
import { connect, type Socket } from 'node:net';
import { encode, MqttDecoder, type Packet, type ProtocolVersion } from '../../src/codec/mqtt/index.js';

export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly decoder: MqttDecoder;
  decodeError: Error | undefined;

  private constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = new MqttDecoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (p) => {
          this.packets.push(p);
        });
      } catch (err) {
        this.decodeError = err as Error;
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number, version: ProtocolVersion = 5, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawClient(s, version));
      });
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  /** Opens a connection and completes CONNECT / CONNACK. */
  static async connected(
    port: number,
    version: ProtocolVersion = 5,
    connect: Partial<Extract<Packet, { type: 1 }>> = {},
  ): Promise<RawClient> {
    const c = await RawClient.open(port, version);
    c.send({
      type: 1,
      protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clean: true,
      keepalive: 60,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      ...connect,
    });
    const ack = await c.next(2);
    if ((ack as { reasonCode: number }).reasonCode !== 0) throw new Error(`CONNACK ${JSON.stringify(ack)}`);
    return c;
  }

  send(p: Packet | Buffer | number[]): void {
    const bytes = Buffer.isBuffer(p) ? p : Array.isArray(p) ? Buffer.from(p) : encode(p, this.version);
    this.socket.write(bytes);
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private waitFor<T>(test: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = test();
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.packets.map((p) => p.type))}`)), timeoutMs);
      const loop = () => {
        try {
          if (!check()) this.waiters.push(loop);
        } catch (err) {
          clearTimeout(timer);
          reject(err);
        }
      };
      loop();
    });
  }

  /** The next packet (optionally of a given type, skipping others), removed from the buffer. */
  next(type?: number, timeoutMs = 5000): Promise<Packet> {
    return this.waitFor(
      () => {
        const i = type === undefined ? (this.packets.length > 0 ? 0 : -1) : this.packets.findIndex((p) => p.type === type);
        if (i < 0) {
          if (this.closed) throw new Error(`connection closed while waiting for packet ${type ?? 'any'}`);
          return undefined;
        }
        return this.packets.splice(i, 1)[0];
      },
      timeoutMs,
      `packet ${type ?? 'any'}`,
    );
  }

  /** Resolves when the server closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<true> {
    return this.waitFor(() => (this.closed ? true : undefined), timeoutMs, 'close');
  }

  close(): void {
    this.socket.destroy();
  }
}
