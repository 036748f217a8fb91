/**
 * Connection admission and overload protection, decided at the cheapest moments: on
 * accept (what listener, what address, how loaded the process is) and at CONNECT (which
 * client id: flapping). A refused connection still reads its CONNECT, so that the client
 * is told why in its own protocol version, but nothing expensive (authentication, session
 * load) runs for it. Built from the resilience toolkit; every refusal is counted.
 *
 *   overload level >= 1        -> 0x89 Server busy
 *   maxConnections / listener  -> 0x97 Quota exceeded
 *   connect rate (listener/IP) -> 0x9F Connection rate exceeded
 *   flapping client id         -> 0x8A Banned
 * 3.1.1 clients get the closest return code (0x03 / 0x05).
 */
import { getHeapStatistics } from 'node:v8';
import { RC } from '../codec/mqtt/reason-codes.js';
import type { Clock } from '../ports/clock.js';
import {
  FlapDetector,
  KeyedRateLimiter,
  LoadShedder,
  NodeLoadSampler,
  Priority,
  TokenBucket,
  type LoadSampler,
} from '../resilience/index.js';
import type { BrokerConfig } from './config.js';

export type AdmissionCause = 'overload' | 'max-connections' | 'listener-full' | 'listener-rate' | 'ip-rate' | 'banned';

export interface AdmissionRefusal {
  cause: AdmissionCause;
  reasonCode: number;
  reason: string;
}

export class Admission {
  readonly shedder: LoadShedder | undefined;
  readonly flap: FlapDetector | undefined;
  private readonly sampler: NodeLoadSampler | undefined;
  private readonly perListener = new Map<string, number>();
  private readonly listenerRate = new Map<string, TokenBucket>();
  private ipRate: KeyedRateLimiter | undefined;
  private open = 0;
  readonly refused = new Map<AdmissionCause, number>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly clock: Clock,
    sampler?: LoadSampler,
    /** For the rate buckets: monotonic in production (see ports/clock.ts monotonicClock). */
    private readonly rateClock: Clock = clock,
  ) {
    this.ipRate = this.buildIpRate();
    const o = config.overload;
    if (o.enabled) {
      if (sampler === undefined) {
        this.sampler = new NodeLoadSampler({ resolutionMs: 10, stat: 'p99' });
        sampler = this.sampler;
      }
      const heapLimit = getHeapStatistics().heap_size_limit;
      this.shedder = new LoadShedder({
        sampler,
        levels: [
          { eventLoopDelayMs: o.refuseConnectsAtDelayMs, heapUsedBytes: o.refuseConnectsAtHeapRatio * heapLimit },
          { eventLoopDelayMs: o.pausePublishesAtDelayMs, heapUsedBytes: o.pausePublishesAtHeapRatio * heapLimit },
        ],
        recoverAfterMs: o.recoverAfterMs,
        clock,
      });
    }
    const f = config.flapping;
    if (f.enabled) {
      this.flap = new FlapDetector({
        maxEvents: f.maxConnects,
        windowMs: f.windowMs,
        banMs: f.banMs,
        maxKeys: f.maxTrackedClients,
        maxBans: f.maxTrackedClients,
        clock,
      });
    }
  }

  start(): void {
    this.sampler?.start();
  }

  /**
   * config.admission changed (hot reload): the limits are read at each accept already; the
   * rate buckets are rebuilt from the new rates (their current fill is forgotten).
   */
  reconfigure(): void {
    this.listenerRate.clear();
    this.ipRate = this.buildIpRate();
  }

  private buildIpRate(): KeyedRateLimiter | undefined {
    const a = this.config.admission;
    if (a.connectRatePerIpPerS <= 0) return undefined;
    return new KeyedRateLimiter({
      capacity: a.connectBurstPerIp,
      refillPerSec: a.connectRatePerIpPerS,
      maxKeys: a.maxTrackedIps,
      whenFull: 'reject',
      clock: this.rateClock,
    });
  }

  stop(): void {
    this.sampler?.stop();
  }

  /** Samples the load (the broker's sweep calls this). Returns the shedding level. */
  update(): number {
    if (this.shedder === undefined) return 0;
    this.shedder.update();
    return this.shedder.level;
  }

  /** False while publishes should not be read (overload level 2). */
  admitPublishes(): boolean {
    return this.shedder === undefined || this.shedder.admit(Priority.normal);
  }

  get shedding(): boolean {
    return this.shedder !== undefined && this.shedder.shedding;
  }

  /**
   * A socket was accepted. Returns undefined when it may go on to CONNECT, or the refusal
   * to answer its CONNECT with. Every accepted socket is counted until released().
   */
  onAccept(listener: string, ip: () => string): AdmissionRefusal | undefined {
    this.open++;
    this.perListener.set(listener, (this.perListener.get(listener) ?? 0) + 1);
    const a = this.config.admission;
    if (this.shedder !== undefined && !this.shedder.admit(Priority.low)) {
      return this.refuse('overload', RC.SERVER_BUSY, 'Server busy: overloaded, try again later');
    }
    if (a.maxConnections > 0 && this.open > a.maxConnections) {
      return this.refuse('max-connections', RC.QUOTA_EXCEEDED, `Connection limit of ${a.maxConnections} reached`);
    }
    if (a.maxConnectionsPerListener > 0 && this.perListener.get(listener)! > a.maxConnectionsPerListener) {
      return this.refuse('listener-full', RC.QUOTA_EXCEEDED, `Connection limit of ${a.maxConnectionsPerListener} reached on this listener`);
    }
    if (a.connectRatePerListenerPerS > 0) {
      let bucket = this.listenerRate.get(listener);
      if (bucket === undefined) {
        bucket = new TokenBucket({ capacity: a.connectBurstPerListener, refillPerSec: a.connectRatePerListenerPerS, clock: this.rateClock });
        this.listenerRate.set(listener, bucket);
      }
      if (!bucket.tryTake(1)) {
        return this.refuse('listener-rate', RC.CONNECTION_RATE_EXCEEDED, `More than ${a.connectRatePerListenerPerS} connections per second`);
      }
    }
    if (this.ipRate !== undefined && !this.ipRate.tryTake(ip())) {
      return this.refuse('ip-rate', RC.CONNECTION_RATE_EXCEEDED, `More than ${a.connectRatePerIpPerS} connections per second from this address`);
    }
    return undefined;
  }

  /** The socket accepted by onAccept() is gone. */
  released(listener: string): void {
    this.open--;
    const n = (this.perListener.get(listener) ?? 1) - 1;
    if (n <= 0) this.perListener.delete(listener);
    else this.perListener.set(listener, n);
  }

  /** A CONNECT with this client id (after the cheap checks): refused while the id is banned for flapping. */
  onConnect(clientId: string): AdmissionRefusal | undefined {
    if (this.flap === undefined) return undefined;
    const ban = this.flap.record(clientId);
    if (ban === undefined) return undefined;
    const seconds = Math.ceil((ban.until - this.clock.now()) / 1000);
    return this.refuse('banned', RC.BANNED, `Client id banned for ${seconds} s: more than ${this.config.flapping.maxConnects} connects in ${this.config.flapping.windowMs / 1000} s`);
  }

  get openConnections(): number {
    return this.open;
  }

  private refuse(cause: AdmissionCause, reasonCode: number, reason: string): AdmissionRefusal {
    this.refused.set(cause, (this.refused.get(cause) ?? 0) + 1);
    return { cause, reasonCode, reason };
  }
}
