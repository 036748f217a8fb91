/**
 * The simulated fleet: N meters, one ticker for all of them (connect pacing, telemetry at
 * a total rate, keepalive pings), counters and a summary. Connects are paced by a rate
 * (per second) and a bound on CONNECTs in flight, so that a reconnect storm of the whole
 * fleet arrives at the broker at a controlled pace; each meter's retry waits its own
 * exponential backoff with full jitter first (meter.ts).
 */
import { mintDeviceToken, type JwtMintOptions } from './jwt-mint.js';
import { SimMeter, type MeterEnv, type MeterEvent } from './meter.js';

export interface FleetOptions {
  host: string;
  port: number;
  protocol: 4 | 5 | 'mixed';
  keepaliveS: number;
  /** false: persistent sessions (subscriptions survive reconnects). */
  clean: boolean;
  sessionExpiryS: number;
  connectTimeoutMs: number;
  /** `{deviceId}` is replaced. */
  telemetryTopic: string;
  /** Telemetry messages per second over the whole fleet. */
  ratePerS: number;
  qos: 0 | 1;
  connectRatePerS: number;
  maxConnecting: number;
  backoff: { baseMs: number; capMs: number };
  /** Connect with HS256 tokens minted per CONNECT instead of device secrets. */
  jwt?: JwtMintOptions;
  tickMs?: number;
  onEvent?: (kind: MeterEvent, m: SimMeter, detail?: unknown) => void;
}

export interface FleetStats {
  devices: number;
  connected: number;
  connecting: number;
  waiting: number;
  connects: number;
  connectFailures: number;
  /** Failed connects by reason (`CONNACK 0x86`, `ECONNREFUSED`, ...). */
  failuresByReason: Record<string, number>;
  connectionsLost: number;
  telemetrySent: number;
  telemetrySkipped: number;
  commandsAnswered: number;
  commandsIgnored: number;
  deltasApplied: number;
  /** ms from start until every meter was connected at once (first time), if it happened. */
  allConnectedAfterMs: number | undefined;
  elapsedMs: number;
}

export class Fleet {
  readonly meters: SimMeter[] = [];
  private readonly queue: SimMeter[] = [];
  private queueHead = 0;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private connectBudget = 0;
  private telemetryBudget = 0;
  private rr = 0;
  private kaCursor = 0;
  private lastTick = 0;
  private startedAt = 0;
  private readonly s: Omit<FleetStats, 'devices' | 'connected' | 'connecting' | 'waiting' | 'elapsedMs'> = {
    connects: 0,
    connectFailures: 0,
    failuresByReason: {},
    connectionsLost: 0,
    telemetrySent: 0,
    telemetrySkipped: 0,
    commandsAnswered: 0,
    commandsIgnored: 0,
    deltasApplied: 0,
    allConnectedAfterMs: undefined,
  };
  private connected = 0;
  private connecting = 0;

  constructor(private readonly o: FleetOptions) {}

  /** Each device needs a secret unless the fleet mints tokens (`jwt`). */
  start(devices: readonly { id: string; secret?: string }[]): void {
    this.startedAt = Date.now();
    this.lastTick = this.startedAt;
    const jwt = this.o.jwt;
    devices.forEach((d, i) => {
      const password = jwt !== undefined ? () => mintDeviceToken(d.id, jwt) : () => d.secret ?? '';
      const m = new SimMeter(d.id, password, this.envFor(this.o.protocol === 'mixed' ? (i % 2 === 0 ? 5 : 4) : this.o.protocol));
      this.meters.push(m);
      this.queue.push(m);
    });
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 50);
    this.timer.unref();
    this.tick();
  }

  /** Disconnects every meter (DISCONNECT), cancels pending reconnects. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    for (const m of this.meters) m.stop();
  }

  stats(): FleetStats {
    let waiting = 0;
    for (const m of this.meters) if (m.state === 'backoff') waiting++;
    return {
      devices: this.meters.length,
      connected: this.connected,
      connecting: this.connecting,
      waiting,
      ...this.s,
      failuresByReason: { ...this.s.failuresByReason },
      elapsedMs: Date.now() - this.startedAt,
    };
  }

  meter(id: string): SimMeter | undefined {
    return this.meters.find((m) => m.id === id);
  }

  private envFor(protocolVersion: 4 | 5): MeterEnv {
    const o = this.o;
    return {
      link: {
        host: o.host,
        port: o.port,
        protocolVersion,
        keepaliveS: o.keepaliveS,
        clean: o.clean,
        ...(o.clean ? {} : { sessionExpiryS: o.sessionExpiryS }),
        connectTimeoutMs: o.connectTimeoutMs,
      },
      telemetryTopic: (id) => o.telemetryTopic.replaceAll('{deviceId}', id),
      qos: o.qos,
      backoff: o.backoff,
      scheduleConnect: (m, delayMs) => {
        const t = setTimeout(() => {
          this.delayed.delete(t);
          this.queue.push(m);
        }, delayMs);
        this.delayed.add(t);
      },
      event: (kind, m, detail) => {
        this.count(kind, detail);
        o.onEvent?.(kind, m, detail);
      },
    };
  }

  private count(kind: MeterEvent, detail: unknown): void {
    switch (kind) {
      case 'connected':
        this.s.connects++;
        this.connected++;
        if (this.s.allConnectedAfterMs === undefined && this.connected === this.meters.length) this.s.allConnectedAfterMs = Date.now() - this.startedAt;
        return;
      case 'connect-failed': {
        this.s.connectFailures++;
        const why = (detail as Error | undefined)?.message ?? 'unknown';
        this.s.failuresByReason[why] = (this.s.failuresByReason[why] ?? 0) + 1;
        return;
      }
      case 'connection-lost':
        this.s.connectionsLost++;
        this.connected--;
        return;
      case 'command':
        if ((detail as { answer?: unknown }).answer === undefined) this.s.commandsIgnored++;
        else this.s.commandsAnswered++;
        return;
      case 'delta':
        this.s.deltasApplied++;
        return;
      case 'telemetry-skipped':
        this.s.telemetrySkipped++;
        return;
    }
  }

  private tick(): void {
    const now = Date.now();
    const dt = Math.min(1000, now - this.lastTick);
    this.lastTick = now;
    // Connect pacing: a token bucket of one second's worth of connects.
    this.connectBudget = Math.min(this.o.connectRatePerS, this.connectBudget + (this.o.connectRatePerS * dt) / 1000);
    while (this.connectBudget >= 1 && this.connecting < this.o.maxConnecting && this.queueHead < this.queue.length) {
      const m = this.queue[this.queueHead++]!;
      this.connectBudget--;
      this.connecting++;
      void m.connect().finally(() => this.connecting--);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    // Telemetry: the fleet-wide rate, round robin over the connected meters.
    const n = this.meters.length;
    if (this.o.ratePerS > 0 && this.connected > 0) {
      this.telemetryBudget = Math.min(this.o.ratePerS, this.telemetryBudget + (this.o.ratePerS * dt) / 1000);
      for (let scanned = 0; this.telemetryBudget >= 1 && scanned < n; scanned++) {
        const m = this.meters[this.rr]!;
        this.rr = (this.rr + 1) % n;
        if (m.state !== 'connected') continue;
        this.telemetryBudget--;
        if (m.sendTelemetry()) this.s.telemetrySent++;
      }
    }
    // Keepalive: every meter looked at about once a second.
    const slice = Math.min(n, Math.ceil((n * Math.max(dt, 1)) / 1000));
    const kaMs = this.o.keepaliveS * 1000;
    for (let i = 0; kaMs > 0 && i < slice; i++) {
      this.meters[this.kaCursor]!.keepalive(now, kaMs);
      this.kaCursor = (this.kaCursor + 1) % n;
    }
  }
}
