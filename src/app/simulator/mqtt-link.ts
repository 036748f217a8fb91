/**
 * A minimal MQTT 3.1.1 / 5.0 client connection for the simulator, on node:net and the
 * project's own codec (src/codec/mqtt): no MQTT.js in production installs. One object per
 * simulated device, no timers of its own (the fleet's one ticker sends PINGREQs through
 * `idleMs` / `ping`): 10,000 links cost 10,000 sockets, not 10,000 intervals.
 *
 * What it does: CONNECT -> CONNACK (with a deadline), SUBSCRIBE -> SUBACK, PUBLISH QoS 0/1
 * (PUBACKs counted, a bounded number in flight), incoming PUBLISH QoS 0/1/2 acknowledged
 * (MQTT-4.3.2-1 PUBACK, MQTT-4.3.3 PUBREC/PUBCOMP), DISCONNECT. No resend of unacked
 * QoS 1 after a reconnect: the simulator reports telemetry, it does not keep it.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { encode, MqttDecoder, type ConnackPacket, type Packet, type Properties, type ProtocolVersion, type PublishPacket, type QoS } from '../../codec/mqtt/index.js';

export interface LinkOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string;
  password?: string;
  protocolVersion: 4 | 5;
  keepaliveS: number;
  /** Clean session (3.1.1) / clean start (5.0). */
  clean: boolean;
  /** v5 session expiry (s) for persistent sessions. */
  sessionExpiryS?: number;
  connectTimeoutMs: number;
}

export interface LinkHandlers {
  onPublish(p: PublishPacket): void;
  /** Once, when a connection the server had accepted (CONNACK 0) ends, for any reason. */
  onClose(reason: string): void;
}

/** A refused CONNECT (CONNACK with a failure code) or a connect that failed or timed out. */
export class ConnectFailure extends Error {
  constructor(
    message: string,
    /** CONNACK reason / return code when the server refused. */
    readonly reasonCode?: number,
  ) {
    super(message);
    this.name = 'ConnectFailure';
  }
}

export class MqttLink {
  private socket: Socket | undefined;
  private readonly decoder: MqttDecoder;
  private readonly version: ProtocolVersion;
  private nextId = 1;
  private closed = false;
  private established = false;
  private connack: ((p: ConnackPacket) => void) | undefined;
  private readonly subacks = new Map<number, (codes: number[]) => void>();
  /** QoS 1 PUBLISHes sent and not yet acknowledged. */
  inflight = 0;
  acked = 0;
  /** ms timestamp of the last byte written (keepalive, MQTT-3.1.2-23). */
  lastWriteAt = 0;

  constructor(
    private readonly opts: LinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.version = opts.protocolVersion;
    this.decoder = new MqttDecoder({ protocolVersion: opts.protocolVersion });
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.closed;
  }

  /** Resolves with the CONNACK when the server accepted; rejects ConnectFailure otherwise. */
  connect(): Promise<ConnackPacket> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string, rc?: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.destroy(why);
        reject(new ConnectFailure(why, rc));
      };
      const timer = setTimeout(() => fail(`no CONNACK within ${o.connectTimeoutMs} ms`), o.connectTimeoutMs);
      const s = netConnect({ host: o.host, port: o.port });
      this.socket = s;
      s.setNoDelay(true);
      s.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
      s.on('close', () => {
        if (!settled) fail('connection closed before CONNACK');
        else this.destroy('connection closed');
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      this.connack = (p) => {
        if (settled) return;
        if (p.reasonCode !== 0) return fail(`CONNACK 0x${p.reasonCode.toString(16).padStart(2, '0')}`, p.reasonCode);
        settled = true;
        this.established = true;
        clearTimeout(timer);
        resolve(p);
      };
      const props: Properties | undefined = this.version === 5 && o.sessionExpiryS !== undefined ? { sessionExpiryInterval: o.sessionExpiryS } : undefined;
      this.write({
        type: 1,
        protocolName: 'MQTT',
        protocolVersion: this.version,
        clean: o.clean,
        keepalive: o.keepaliveS,
        clientId: o.clientId,
        ...(o.username === undefined ? {} : { username: o.username }),
        ...(o.password === undefined ? {} : { password: Buffer.from(o.password) }),
        ...(props === undefined ? {} : { properties: props }),
      });
    });
  }

  subscribe(filters: string[], qos: QoS, timeoutMs: number): Promise<number[]> {
    const packetId = this.takeId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.subacks.delete(packetId);
        reject(new Error(`no SUBACK within ${timeoutMs} ms`));
      }, timeoutMs);
      this.subacks.set(packetId, (codes) => {
        clearTimeout(timer);
        resolve(codes);
      });
      this.write({
        type: 8,
        packetId,
        subscriptions: filters.map((topic) => ({ topic, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })),
      });
    });
  }

  /** False (nothing sent) when QoS 1 and `maxInflight` are already in flight. */
  publish(topic: string, payload: Buffer, qos: 0 | 1, properties?: Properties, maxInflight = Infinity): boolean {
    if (!this.isOpen) return false;
    if (qos === 1 && this.inflight >= maxInflight) return false;
    const p: PublishPacket = { type: 3, topic, payload, qos, retain: false, dup: false };
    if (qos === 1) {
      p.packetId = this.takeId();
      this.inflight++;
    }
    if (properties !== undefined && this.version === 5) p.properties = properties;
    this.write(p);
    return true;
  }

  ping(): void {
    this.write({ type: 12 });
  }

  /** DISCONNECT (normal) and close. */
  disconnect(): void {
    if (!this.isOpen) return;
    this.write({ type: 14 });
    this.socket?.end();
    this.destroy('disconnected by the simulator');
  }

  /** Drop the connection without DISCONNECT (the server publishes the will / sees a network failure). */
  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
    for (const [, done] of this.subacks) done([0x80]);
    this.subacks.clear();
    if (this.established) this.handlers.onClose(reason);
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id === 65_535 ? 1 : id + 1;
    return id;
  }

  private write(p: Packet): void {
    if (this.closed || this.socket === undefined) return;
    this.lastWriteAt = Date.now();
    this.socket.write(encode(p, this.version));
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (p) => this.onPacket(p));
    } catch (err) {
      this.destroy(`bad packet from the server: ${(err as Error).message}`);
    }
  }

  private onPacket(p: Packet): void {
    switch (p.type) {
      case 2:
        this.connack?.(p);
        return;
      case 3:
        // MQTT-4.3.2-1 PUBACK / MQTT-4.3.3-1 PUBREC, then hand over (a copy: the decoder's payload is a view into the chunk).
        if (p.qos === 1) this.write({ type: 4, packetId: p.packetId! });
        else if (p.qos === 2) this.write({ type: 5, packetId: p.packetId! });
        this.handlers.onPublish({ ...p, payload: Buffer.from(p.payload) });
        return;
      case 4:
        if (this.inflight > 0) this.inflight--;
        this.acked++;
        return;
      case 6:
        this.write({ type: 7, packetId: p.packetId });
        return;
      case 9: {
        const done = this.subacks.get(p.packetId);
        this.subacks.delete(p.packetId);
        done?.(p.reasonCodes);
        return;
      }
      case 14:
        this.destroy(`DISCONNECT 0x${(p.reasonCode ?? 0).toString(16).padStart(2, '0')} from the server`);
        return;
      default:
        return; // PINGRESP, UNSUBACK, AUTH: nothing to do
    }
  }
}
