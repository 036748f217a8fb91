/**
 * A bare MQTT-over-WebSocket client (MQTT5 6.0): sends arbitrary frames (binary, text,
 * fragmented, several packets per frame or one packet over several frames) and decodes
 * what the server sends back. Every wait has a deadline.
 */
import WebSocket from 'ws';
import { encode, MqttDecoder, type Packet, type ProtocolVersion } from '../../src/codec/mqtt/index.js';

export class WsRawClient {
  readonly packets: Packet[] = [];
  closed = false;
  closeCode: number | undefined;
  /** Set if the server ever sent a text frame (MQTT-6.0.0-1 forbids it). */
  textFrameReceived = false;
  private waiters: (() => void)[] = [];
  private readonly decoder: MqttDecoder;

  private constructor(
    readonly ws: WebSocket,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = new MqttDecoder({ protocolVersion: version });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.textFrameReceived = true;
        return;
      }
      this.decoder.push(Buffer.from(data), (p) => {
        this.packets.push(p);
      });
      this.wake();
    });
    ws.on('close', (code: number) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {});
  }

  static open(url: string, version: ProtocolVersion = 5, protocols: string | string[] = 'mqtt'): Promise<WsRawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new WsRawClient(ws, version));
      });
      ws.once('error', reject);
    });
  }

  /** Opens and completes CONNECT / CONNACK (CONNECT sent as one binary frame). */
  static async connected(url: string, version: ProtocolVersion = 5, clientId = `ws-${Math.random().toString(36).slice(2)}`): Promise<WsRawClient> {
    const c = await WsRawClient.open(url, version);
    c.sendFrame(c.encode({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId }));
    const ack = (await c.next(2)) as { reasonCode: number };
    if (ack.reasonCode !== 0) throw new Error(`CONNACK ${JSON.stringify(ack)}`);
    return c;
  }

  encode(p: Packet): Buffer {
    return encode(p, this.version);
  }

  /** One binary WebSocket message. */
  sendFrame(bytes: Buffer, opts: { fin?: boolean } = {}): void {
    this.ws.send(bytes, { binary: true, fin: opts.fin ?? true });
  }

  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private waitFor<T>(test: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.packets.map((p) => p.type))}`)), timeoutMs);
      const loop = () => {
        let v: T | undefined;
        try {
          v = test();
        } catch (err) {
          clearTimeout(timer);
          reject(err as Error);
          return;
        }
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(loop);
      };
      loop();
    });
  }

  /** The next packet (of `type`, skipping others), removed from the buffer. */
  next(type?: number, timeoutMs = 5_000): Promise<Packet> {
    return this.waitFor(
      () => {
        const i = type === undefined ? (this.packets.length > 0 ? 0 : -1) : this.packets.findIndex((p) => p.type === type);
        if (i < 0) {
          if (this.closed) throw new Error(`WebSocket closed (code ${this.closeCode}) while waiting for packet ${type ?? 'any'}`);
          return undefined;
        }
        return this.packets.splice(i, 1)[0];
      },
      timeoutMs,
      `packet ${type ?? 'any'}`,
    );
  }

  /** Resolves with the close code once the server closed the WebSocket. */
  waitClosed(timeoutMs = 5_000): Promise<number> {
    return this.waitFor(() => (this.closed ? (this.closeCode ?? 0) : undefined), timeoutMs, 'close');
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Attempts a WebSocket upgrade and reports how the server answered (status code or open). */
export function tryUpgrade(url: string, protocols: string | string[] = 'mqtt'): Promise<{ opened: boolean; status?: number; protocol?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => {
      const protocol = ws.protocol;
      ws.terminate();
      resolve({ opened: true, protocol });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once('error', () => resolve({ opened: false }));
  });
}
