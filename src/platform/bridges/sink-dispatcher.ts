/**
 * The dispatcher of one sink: reads its durable outbox in batches (in message id order),
 * hands each batch to the sink, and deletes what the sink took. Memory holds one batch.
 *
 * Order: strictly batch after batch. A batch is retried (the messages still failing, after
 * a backoff with full jitter) until nothing is left of it, and only then is the next one
 * read, so one device's messages reach the sink in the order they were published. A
 * message the sink keeps failing does not block the rest for ever: after `maxAttempts`
 * failed attempts (or `maxPermanentAttempts` refusals for good) it moves to the dead
 * letters, in the same store batch that deletes it from the outbox.
 *
 * Failures of the whole batch (the sink rejects: unreachable, timeout, the batch deadline)
 * are not counted against the messages: the sink is away, and that is what the outbox and
 * its bound are for. They count against the breakers (the sink's, and its endpoint's for
 * http): while a breaker is open nothing is sent and the outbox grows on disk.
 *
 * Drop-oldest trimming runs beside the loop (it may cut into the batch in flight: those
 * messages are marked and skipped when the batch completes). Everything that reads or
 * changes the outbox (load, complete, trim, replay) runs under one SerialLock, so the
 * in-memory counters never count a message twice.
 */
import { HoldfastError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { Sink, SinkMessage, SinkOutcome } from '../../ports/sink.js';
import type { Tracer } from '../../ports/tracer.js';
import type { OutboxEntry, Store } from '../../ports/store.js';
import { Backoff, raceSignal, withDeadline, type CircuitBreaker } from '../../resilience/index.js';
import type { SinkConfig } from './bridges-config.js';
import { traceBatch } from './bridge-trace.js';
import { type SerialLock, Waker } from './dispatch-sync.js';
import type { OutboxAccount } from './outbox-account.js';
import type { SinkStats } from './sink-stats.js';
import type { DispatcherState } from './types.js';

/** Entries read at a time when trimming (drop-oldest). */
const TRIM_CHUNK = 500;
/** Shortest wait for an open breaker (it opens to half-open lazily, on inspection). */
const MIN_OPEN_WAIT_MS = 20;

export interface DispatcherDeps {
  config: SinkConfig;
  sink: Sink;
  store: Store;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  account: OutboxAccount;
  stats: SinkStats;
  lock: SerialLock;
  breaker: CircuitBreaker;
  endpointBreaker: CircuitBreaker | undefined;
  random: () => number;
  tracer: Tracer;
}

export class SinkDispatcher {
  state: DispatcherState = 'starting';
  private pending: OutboxEntry[] = [];
  private inFlight = false;
  /** Messages of the batch in flight that trimming deleted meanwhile. */
  private readonly dropped = new Set<number>();
  /** Highest message id read into a batch; replay moves it back. */
  private cursor = 0;
  private retryAt = 0;
  private newData = true;
  private sinkStarted = false;
  private stopped = false;
  private trimming = false;
  private readonly abort = new AbortController();
  private readonly waker = new Waker();
  private readonly backoff: Backoff;
  private loop: Promise<void> | undefined;
  private readonly name: string;
  private batchSeq = 0;

  constructor(private readonly d: DispatcherDeps) {
    this.name = d.config.name;
    this.backoff = new Backoff({ baseMs: d.config.retryBaseMs, capMs: d.config.retryCapMs, jitter: 'full', random: d.random });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the loop; a batch in flight is abandoned (its messages stay in the outbox). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new HoldfastError('BRIDGE_STOPPED', `bridge sink ${this.name} is stopping`));
    this.waker.wake();
    await this.loop;
    this.state = 'stopped';
  }

  /** A message was queued for this sink. */
  notifyNew(): void {
    this.newData = true;
    if (this.state === 'idle') this.waker.wake();
  }

  /** The outbox is over a bound and the policy is drop-oldest. */
  notifyOverflow(): void {
    if (this.trimming || this.stopped) return;
    this.trimming = true;
    const again = (dropped: number): void => {
      this.trimming = false;
      // More arrived meanwhile: trim again (only if the last pass made progress: no spinning on drifted counters).
      if (dropped > 0 && this.d.account.over && !this.stopped) this.notifyOverflow();
    };
    this.d.lock.run(() => this.trim()).then(again, (err: unknown) => {
      this.d.stats.error(err);
      this.d.logger.error({ err, sink: this.name }, 'bridge outbox trim failed');
      this.trimming = false;
    });
  }

  /** Dead letters with ids from `minMessageId` on were put back (under the lock): read from there again. */
  rewind(minMessageId: number): void {
    this.cursor = Math.min(this.cursor, minMessageId - 1);
    this.notifyNew();
    this.waker.wake();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        if (this.stopped) break;
        this.d.stats.error(err);
        this.d.logger.warn({ err, sink: this.name }, 'bridge dispatcher step failed; retrying after backoff');
        this.retryAt = this.d.clock.now() + this.backoff.next();
        this.state = 'backoff';
        await this.waker.wait(this.retryAt - this.d.clock.now());
      }
    }
  }

  private async step(): Promise<void> {
    const { clock } = this.d;
    if (this.pending.length === 0) {
      this.newData = false;
      await this.d.lock.run(() => this.load());
      if (this.pending.length === 0) {
        if (this.newData || this.stopped) return;
        this.state = 'idle';
        await this.waker.wait(Infinity);
        const linger = this.d.config.batchLingerMs;
        if (!this.stopped && linger > 0 && this.d.account.count < this.d.config.batchMaxMessages) {
          await new Promise((r) => setTimeout(r, linger));
        }
        return;
      }
    }
    // An open breaker first: while it is open nothing is tried, whatever the backoff says.
    for (const b of [this.d.breaker, this.d.endpointBreaker]) if (b !== undefined && b.retryAfterMs() > 0) return this.waitOpen(b);
    const wait = this.retryAt - clock.now();
    if (wait > 0) {
      this.state = 'backoff';
      await this.waker.wait(wait);
      return;
    }
    if (!this.sinkStarted) {
      this.state = 'starting';
      await raceSignal(this.d.sink.start(), this.abort.signal);
      this.sinkStarted = true;
    }
    const t1 = this.d.breaker.tryAcquire();
    if (t1 === 0) return this.waitOpen(this.d.breaker);
    let t2 = 0;
    if (this.d.endpointBreaker !== undefined) {
      t2 = this.d.endpointBreaker.tryAcquire();
      if (t2 === 0) {
        this.d.breaker.onIgnore(t1);
        return this.waitOpen(this.d.endpointBreaker);
      }
    }
    await this.send(t1, t2);
  }

  private async waitOpen(b: CircuitBreaker): Promise<void> {
    this.state = 'open';
    await this.waker.wait(Math.max(MIN_OPEN_WAIT_MS, b.retryAfterMs()));
  }

  /** Under the lock: the next batch after the cursor. */
  private async load(): Promise<void> {
    const { store, account, config } = this.d;
    let entries = await store.loadOutbox(this.name, this.cursor, config.batchMaxMessages);
    if (entries.length === 0 && account.count > 0) {
      // Counters say there is more: entries behind the cursor (or counters that drifted).
      entries = await store.loadOutbox(this.name, 0, config.batchMaxMessages);
      if (entries.length === 0) {
        const stats = await store.outboxStats();
        this.d.logger.warn({ sink: this.name, counted: account.count, stored: stats.get(this.name)?.count ?? 0 }, 'bridge outbox counters resynchronised from the store');
        account.restore(stats.get(this.name));
      }
    }
    this.pending = entries;
    if (entries.length > 0) this.cursor = Math.max(this.cursor, entries[entries.length - 1]!.messageId);
    account.headAt(entries[0]?.createdAt);
  }

  private sinkMessage(e: OutboxEntry): SinkMessage {
    return {
      messageId: e.messageId,
      idempotencyKey: `${this.d.instanceId}-${e.messageId}`,
      topic: e.topic,
      body: e.payload,
      qos: e.qos,
      publisherId: e.publisherId,
      properties: e.properties,
      createdAt: e.createdAt,
      attempt: e.attempts + 1,
    };
  }

  private async send(t1: number, t2: number): Promise<void> {
    const { clock, config, stats, breaker, endpointBreaker } = this.d;
    const batch = this.pending.filter((e) => !this.dropped.has(e.messageId));
    this.state = 'sending';
    this.inFlight = true;
    stats.sent(batch.length);
    const started = clock.now();
    const startedAtMs = Date.now(); // for the span: ms since the epoch whatever the injected clock
    const deadline = withDeadline(this.abort.signal, config.batchTimeoutMs, `bridge.${this.name}.send`);
    let outcomes: SinkOutcome[] | undefined;
    let failure: unknown;
    try {
      const out = await raceSignal(this.d.sink.send(batch.map((e) => this.sinkMessage(e)), deadline.signal), deadline.signal);
      if (!Array.isArray(out) || out.length !== batch.length) {
        throw new HoldfastError('BRIDGE_SINK_CONTRACT', `sink ${this.name} returned ${Array.isArray(out) ? out.length : 'no'} outcomes for ${batch.length} messages`);
      }
      outcomes = out;
    } catch (err) {
      failure = err;
    } finally {
      deadline.dispose();
    }
    if (this.stopped) {
      this.inFlight = false;
      breaker.onIgnore(t1);
      if (endpointBreaker !== undefined) endpointBreaker.onIgnore(t2);
      return;
    }
    const tookMs = clock.now() - started;
    if (this.d.tracer.enabled) {
      traceBatch(this.d.tracer, {
        sink: this.name,
        kind: config.kind,
        seq: ++this.batchSeq,
        messages: batch.length,
        startedAtMs,
        failure: outcomes === undefined ? (failure instanceof Error ? failure.message : String(failure)) : undefined,
        failedMessages: outcomes === undefined ? batch.length : outcomes.filter((o) => o.status !== 'ok').length,
      });
    }
    if (outcomes === undefined) {
      breaker.onFailure(t1);
      if (endpointBreaker !== undefined) endpointBreaker.onFailure(t2);
      stats.totals.batchFailures++;
      stats.failed(batch.length);
      stats.error(failure);
      await this.d.lock.run(() => {
        this.inFlight = false;
        this.pending = this.pending.filter((e) => !this.dropped.has(e.messageId));
        this.dropped.clear();
      });
      this.retryAt = clock.now() + this.backoff.next();
      return;
    }
    // The sink answered: a working dependency, unless every message is to be retried.
    const answered = outcomes.some((o) => o.status !== 'retry');
    if (answered) {
      breaker.onSuccess(t1, tookMs);
      if (endpointBreaker !== undefined) endpointBreaker.onSuccess(t2, tookMs);
    } else {
      breaker.onFailure(t1);
      if (endpointBreaker !== undefined) endpointBreaker.onFailure(t2);
    }
    const done = outcomes;
    await this.d.lock.run(() => this.complete(batch, done));
  }

  /** Under the lock: deletes what arrived, counts attempts, moves what failed too often to the dead letters. */
  private complete(batch: readonly OutboxEntry[], outcomes: readonly SinkOutcome[]): void {
    const { store, account, stats, config, clock } = this.d;
    const now = clock.now();
    this.inFlight = false;
    const gone: number[] = [];
    const remaining: OutboxEntry[] = [];
    let acked = 0;
    let failed = 0;
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      if (this.dropped.has(e.messageId)) continue;
      const o = outcomes[i]!;
      if (o.status === 'ok') {
        gone.push(e.messageId);
        account.remove(e);
        acked++;
        continue;
      }
      failed++;
      const attempts = e.attempts + 1;
      const limit = o.status === 'permanent' ? config.maxPermanentAttempts : config.maxAttempts;
      stats.error(new Error(o.error));
      if (attempts >= limit) {
        store.putDeadLetter({ ...e, attempts, error: `${o.status}: ${o.error}`, failedAt: now });
        gone.push(e.messageId);
        account.remove(e);
        stats.totals.deadLettered++;
        stats.deadLetters++;
        this.d.logger.warn({ sink: this.name, messageId: e.messageId, topic: e.topic, attempts, error: o.error }, 'bridge message moved to the dead letters');
      } else {
        store.updateOutboxAttempts(this.name, e.messageId, attempts);
        remaining.push({ ...e, attempts });
      }
    }
    // Same store batch as the dead letters above: moved, never lost nor doubled.
    store.deleteOutbox(this.name, gone);
    this.dropped.clear();
    stats.acked(acked);
    stats.failed(failed);
    this.pending = remaining;
    if (remaining.length === 0) {
      this.backoff.reset();
      this.retryAt = 0;
    } else {
      this.retryAt = now + this.backoff.next();
    }
  }

  /** Under the lock: deletes the oldest entries until the outbox is within its bounds again (drop-oldest). */
  private async trim(): Promise<number> {
    const { store, account, stats } = this.d;
    const ids: number[] = [];
    let dropped = 0;
    const drop = (e: OutboxEntry): void => {
      dropped++;
      ids.push(e.messageId);
      account.remove(e);
      stats.totals.droppedOldest++;
    };
    // The batch being sent (or retried) is the head of the outbox.
    for (const e of this.pending) {
      if (!account.over) break;
      if (this.dropped.has(e.messageId)) continue;
      drop(e);
      this.dropped.add(e.messageId);
    }
    if (!this.inFlight) {
      this.pending = this.pending.filter((e) => !this.dropped.has(e.messageId));
      this.dropped.clear();
    }
    store.deleteOutbox(this.name, ids.splice(0));
    // Then the rest from the start, in id order (entries of the batch in hand are skipped).
    let after = 0;
    while (account.over) {
      const chunk = await store.loadOutbox(this.name, after, TRIM_CHUNK);
      if (chunk.length === 0) {
        account.restore((await store.outboxStats()).get(this.name));
        break;
      }
      const held = new Set(this.pending.map((e) => e.messageId));
      for (const e of chunk) {
        if (!account.over) break;
        if (!held.has(e.messageId) && !this.dropped.has(e.messageId)) drop(e);
      }
      after = chunk[chunk.length - 1]!.messageId;
      store.deleteOutbox(this.name, ids.splice(0));
    }
    store.deleteOutbox(this.name, ids);
    return dropped;
  }
}
