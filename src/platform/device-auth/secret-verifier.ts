/**
 * Checks a password against a device secret's scrypt hash, with two protections for the
 * CONNECT path:
 *
 * - Bounded concurrency: at most `maxConcurrent` scrypt computations at once (each takes
 *   tens of milliseconds and ~16 MiB on the libuv pool), at most `maxWaiting` CONNECTs
 *   waiting for one. A waiter whose CONNECT deadline passes leaves the line (no wasted
 *   hash); a full line rejects at once, which the broker answers with CONNACK 0x88.
 * - A small cache of successful verifications: key = (the stored hash, an HMAC of the
 *   password under a random per-process key), kept `cacheTtlMs` (default 60 s), at most
 *   `cacheMaxEntries` (LRU). A reconnect storm of the same devices costs one scrypt per
 *   device per TTL, not one per CONNECT. Only successes are cached (a wrong password always
 *   costs a full scrypt), the password itself is never kept, and because the key includes
 *   the stored hash, a revoked or rotated secret stops matching at once (the caller reads
 *   the device's current credentials on every CONNECT). cacheTtlMs: 0 disables the cache.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';
import { KeyedSemaphore } from '../../resilience/index.js';
import { verifyPassword } from '../auth/index.js';

export interface SecretVerifierOptions {
  clock: Clock;
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  maxConcurrent?: number;
  maxWaiting?: number;
}

export class SecretVerifier {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly cache = new Map<string, number>();
  private readonly hmacKey = randomBytes(32);
  private readonly limiter: KeyedSemaphore;
  readonly counters = { hashes: 0, cacheHits: 0 };

  constructor(opts: SecretVerifierOptions) {
    this.clock = opts.clock;
    this.ttlMs = opts.cacheTtlMs ?? 60_000;
    this.maxEntries = opts.cacheMaxEntries ?? 10_000;
    this.limiter = new KeyedSemaphore({
      name: 'device-secret-verify',
      shards: 1,
      permitsPerShard: opts.maxConcurrent ?? 4,
      maxWaitersPerShard: opts.maxWaiting ?? 1000,
    });
  }

  async verify(password: Buffer, secretHash: string, signal: AbortSignal): Promise<boolean> {
    const key = this.ttlMs > 0 ? `${secretHash}\u0000${createHmac('sha256', this.hmacKey).update(password).digest('base64')}` : '';
    if (this.ttlMs > 0) {
      const until = this.cache.get(key);
      if (until !== undefined) {
        this.cache.delete(key);
        if (until > this.clock.now()) {
          this.cache.set(key, until); // most recently used last
          this.counters.cacheHits++;
          return true;
        }
      }
    }
    const release = await this.limiter.acquire('', signal);
    let ok: boolean;
    try {
      signal.throwIfAborted();
      this.counters.hashes++;
      ok = await verifyPassword(password, secretHash);
    } finally {
      release();
    }
    if (ok && this.ttlMs > 0) {
      this.cache.set(key, this.clock.now() + this.ttlMs);
      while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    }
    return ok;
  }

  get cacheSize(): number {
    return this.cache.size;
  }
}
