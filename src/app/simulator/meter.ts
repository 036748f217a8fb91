/**
 * One simulated meter: connects with its device id and secret, subscribes to its own
 * command and shadow topics (platform brief, "Reserved topics"), reports telemetry when
 * the fleet asks, answers commands and applies shadow deltas, and reconnects through the
 * fleet (exponential backoff with full jitter, src/resilience/retry.ts) when its
 * connection ends or a CONNECT fails.
 *
 * Commands it understands (by name): `fail` answers `{ ok: false }`; `ignore` never
 * answers (to see deadlines and retries); `set` merges its payload object into the
 * reported state; `reboot` answers, then drops the connection; anything else answers
 * `{ ok: true, result: { name, echo, at } }`.
 */
import type { Properties, PublishPacket } from '../../codec/mqtt/index.js';
import { Backoff } from '../../resilience/retry.js';
import { ConnectFailure, MqttLink, type LinkOptions } from './mqtt-link.js';

export interface MeterEnv {
  /** Where and how to connect (client id, password and clean flag are the meter's). */
  link: Omit<LinkOptions, 'clientId' | 'password' | 'username'>;
  /** Telemetry topic with `{deviceId}` replaced. */
  telemetryTopic(id: string): string;
  qos: 0 | 1;
  backoff: { baseMs: number; capMs: number };
  /** Called by the meter: the fleet queues it behind its connect-rate limit after `delayMs`. */
  scheduleConnect(m: SimMeter, delayMs: number): void;
  event(kind: MeterEvent, m: SimMeter, detail?: unknown): void;
}

export type MeterEvent =
  | 'connected'
  | 'connect-failed'
  | 'connection-lost'
  | 'command'
  | 'delta'
  | 'telemetry-skipped';

const topics = (id: string) => {
  const base = `$holdfast/devices/${id}`;
  return {
    commands: `${base}/commands`,
    response: `${base}/commands/response`,
    delta: `${base}/shadow/delta`,
    update: `${base}/shadow/update`,
    get: `${base}/shadow/get`,
    getAccepted: `${base}/shadow/get/accepted`,
  };
};

export class SimMeter {
  state: 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped' = 'idle';
  link: MqttLink | undefined;
  readonly backoff: Backoff;
  readonly reported: Record<string, unknown> = { interval: 60, relay: 'on', firmware: '1.0.0' };
  lastRefusal: string | undefined;
  private seq = 0;
  private energyWh: number;
  private readonly t: ReturnType<typeof topics>;

  constructor(
    readonly id: string,
    /** The CONNECT password: the device secret, or a freshly minted token. */
    private readonly password: () => string,
    private readonly env: MeterEnv,
  ) {
    this.backoff = new Backoff({ baseMs: env.backoff.baseMs, capMs: env.backoff.capMs, jitter: 'full' });
    this.energyWh = Math.round(Math.random() * 1e6);
    this.t = topics(id);
  }

  /** State may change while a connect is awaited (stop()). */
  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** One connect attempt; on failure the next one is scheduled with backoff. */
  async connect(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'connecting' || this.state === 'connected') return;
    this.state = 'connecting';
    const link = new MqttLink(
      { ...this.env.link, clientId: this.id, username: this.id, password: this.password() },
      { onPublish: (p) => this.onPublish(p), onClose: (why) => this.onLost(link, why) },
    );
    this.link = link;
    try {
      await link.connect();
      await link.subscribe([this.t.commands, this.t.delta, this.t.getAccepted], 1, this.env.link.connectTimeoutMs);
    } catch (err) {
      if (this.link === link) this.link = undefined;
      link.destroy('connect failed');
      if (this.stopped) return;
      this.lastRefusal = err instanceof ConnectFailure ? err.message : (err as Error).message;
      this.env.event('connect-failed', this, err);
      this.retryLater();
      return;
    }
    if (this.stopped) {
      link.disconnect();
      return;
    }
    this.state = 'connected';
    this.backoff.reset();
    this.env.event('connected', this);
    // The delta pushed at CONNECT may have come before SUBSCRIBE: ask for the document.
    link.publish(this.t.get, Buffer.alloc(0), 1);
  }

  /** One telemetry message; false when not connected or the QoS 1 window is full. */
  sendTelemetry(): boolean {
    const link = this.link;
    if (this.state !== 'connected' || link === undefined) return false;
    const powerW = 200 + Math.round(Math.random() * 3000);
    this.energyWh += powerW / 3600;
    const payload = Buffer.from(JSON.stringify({ ts: Date.now(), seq: ++this.seq, energyWh: Math.round(this.energyWh), powerW, voltageV: 228 + Math.round(Math.random() * 4) }));
    const sent = link.publish(this.env.telemetryTopic(this.id), payload, this.env.qos, undefined, 32);
    if (!sent) this.env.event('telemetry-skipped', this);
    return sent;
  }

  /** Keepalive: a PINGREQ when nothing was written for half the keepalive. */
  keepalive(now: number, keepaliveMs: number): void {
    const link = this.link;
    if (this.state === 'connected' && link !== undefined && now - link.lastWriteAt >= keepaliveMs / 2) link.ping();
  }

  stop(): void {
    this.state = 'stopped';
    this.link?.disconnect();
    this.link = undefined;
  }

  private retryLater(): void {
    this.state = 'backoff';
    this.env.scheduleConnect(this, this.backoff.next());
  }

  private onLost(link: MqttLink, why: string): void {
    if (this.link !== link) return;
    this.link = undefined;
    if (this.state === 'stopped') return;
    this.env.event('connection-lost', this, why);
    this.retryLater();
  }

  private onPublish(p: PublishPacket): void {
    if (p.topic === this.t.commands) this.onCommand(p);
    else if (p.topic === this.t.delta) {
      const d = parse(p.payload) as { delta?: Record<string, unknown> } | undefined;
      if (d?.delta !== undefined) this.applyDelta(d.delta);
    } else if (p.topic === this.t.getAccepted) {
      const doc = parse(p.payload) as { delta?: Record<string, unknown> } | undefined;
      if (doc?.delta !== undefined && Object.keys(doc.delta).length > 0) this.applyDelta(doc.delta);
    }
  }

  /** Adopt the desired values and report them (null deletes a key). */
  private applyDelta(delta: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(delta)) {
      if (v === null) delete this.reported[k];
      else this.reported[k] = v;
    }
    this.link?.publish(this.t.update, Buffer.from(JSON.stringify({ reported: delta })), 1);
    this.env.event('delta', this, delta);
  }

  private onCommand(p: PublishPacket): void {
    // MQTT 5 devices get the payload with responseTopic / correlationData; 3.1.1 ones an envelope.
    const v5 = this.env.link.protocolVersion === 5;
    let id: string | undefined;
    let name: string | undefined;
    let payload: unknown;
    if (v5) {
      name = p.properties?.userProperties?.find(([k]) => k === 'command')?.[1];
      payload = parse(p.payload);
    } else {
      const env = parse(p.payload) as { id?: string; name?: string; payload?: unknown } | undefined;
      id = env?.id;
      name = env?.name;
      payload = env?.payload;
    }
    const answer = this.execute(name ?? '', payload);
    this.env.event('command', this, { name, payload, answer });
    if (answer === undefined) return;
    if (v5) {
      const correlationData = p.properties?.correlationData;
      if (correlationData === undefined) return; // nothing to correlate the answer with
      // MQTT5 4.10.2: the response carries the request's correlation data, to its response topic.
      const props: Properties = { correlationData };
      this.link?.publish(p.properties?.responseTopic ?? this.t.response, Buffer.from(JSON.stringify(answer)), 1, props);
    } else {
      this.link?.publish(this.t.response, Buffer.from(JSON.stringify({ id, ...answer })), 1);
    }
    if (name === 'reboot') setImmediate(() => this.link?.destroy('rebooting (simulated)'));
  }

  private execute(name: string, payload: unknown): { ok: boolean; result?: unknown; error?: string } | undefined {
    switch (name) {
      case 'ignore':
        return undefined;
      case 'fail':
        return { ok: false, error: 'simulated failure' };
      case 'set':
        if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
          Object.assign(this.reported, payload);
          this.link?.publish(this.t.update, Buffer.from(JSON.stringify({ reported: payload })), 1);
          return { ok: true, result: { reported: this.reported } };
        }
        return { ok: false, error: 'set needs a JSON object' };
      default:
        return { ok: true, result: { name, echo: payload, at: Date.now() } };
    }
  }
}

function parse(b: Buffer): unknown {
  if (b.length === 0) return undefined;
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}
