/**
 * The JetStream ingress (issue 9): a durable pull consumer on a configured stream whose
 * messages become MQTT publishes (broker.publishFromServer) or device commands
 * (CommandService.send), see ingress-mapping.ts.
 *
 * Exactly once into the broker, for publishes: messages are handled in order, a batch at a
 * time; each handled message's id goes into the dedupe window (dedupe-window.ts) in the
 * same store batch as its publish; the batch is committed (store.flush()) and only then
 * acknowledged to JetStream. A message delivered again (ack lost, the consumer died
 * before acking, the publisher sent it twice) finds its id in the window and is only
 * acknowledged. The id is the `Nats-Msg-Id` header, else `seq:<stream created>:<seq>`.
 *
 * Commands are at least once: CommandService keeps them in the platform store, which is
 * not the broker store, so a crash between the two writes can send a command twice
 * (devices must treat a command id they have executed as done, as for every command).
 *
 * Failures: an invalid message (ingress-mapping.ts; a command for an unknown device) is
 * negatively acknowledged with retryDelayMs and, on its maxAttempts-th delivery, written
 * to the dead letters (sink `ingress:<name>`) and acknowledged. Transient failures (store
 * failing, command queue full, ...) are retried without limit: they are not the message's
 * fault.
 */
import { EventEmitter } from 'node:events';
import { ConsumerEvents, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import type { Broker } from '../../broker/broker.js';
import type { Logger } from '../../observability/logger.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { Backoff, sleep } from '../../resilience/index.js';
import type { CommandService } from '../contracts.js';
import { isPlatformError } from '../errors.js';
import { DedupeWindow } from './dedupe-window.js';
import { HoldfastError } from '../../errors/index.js';
import { connectIngress, ensureConsumer, viewOf } from './ingress-consumer.js';
import { ingressDeadLetter, replayIngressDeadLetters } from './ingress-dead-letters.js';
import { IngressPosition } from './ingress-position.js';
import { mapIngressMessage } from './ingress-mapping.js';
import { durableName, resolveIngressOptions, type IngressInput, type IngressOptions } from './ingress-options.js';

/** What the ingress needs from the broker: its server publish and its store. */
export type IngressBroker = Pick<Broker, 'publishFromServer' | 'store' | 'topicLimits'>;

export interface IngressDeps {
  broker: IngressBroker;
  /** Needed for commands (commands.enabled); without it command messages are invalid. */
  commands?: CommandService;
  logger?: Logger;
  clock?: Clock;
  /**
   * Fault injection for tests: called after a batch is committed, before it is acked.
   * Returning 'crash' makes the ingress behave as if its process died there: no ack, the
   * NATS connection dropped, nothing more consumed.
   */
  faults?: { beforeAck?(ids: readonly string[]): 'crash' | void };
}

export type IngressState = 'idle' | 'connecting' | 'consuming' | 'waiting' | 'stopped' | 'crashed';

export interface IngressStats {
  published: number;
  commands: number;
  duplicates: number;
  deadLettered: number;
  failures: number;
}

export interface IngressEvent {
  id: string;
  seq: number;
  subject: string;
  error?: string;
  /** 'state' events only. */
  state?: IngressState;
}

export type IngressEventName = 'processed' | 'duplicate' | 'dead-letter' | 'failed' | 'state';

type Failure = { poison: boolean; error: string };

export class JetStreamIngress {
  readonly name: string;
  readonly options: IngressOptions;
  readonly deadLetterSink: string;
  private readonly deps: IngressDeps;
  private readonly clock: Clock;
  private readonly window: DedupeWindow;
  private readonly events = new EventEmitter();
  private readonly counters: IngressStats = { published: 0, commands: 0, duplicates: 0, deadLettered: 0, failures: 0 };
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private queue: JsMsg[] = [];
  private processing: Promise<void> | undefined;
  private supervisor: Promise<void> | undefined;
  private readonly wake = new AbortController();
  private halted = false;
  private streamCreated = '';
  private readonly position: IngressPosition;
  private current: IngressState = 'idle';
  private lastError: string | undefined;

  constructor(input: IngressInput, deps: IngressDeps) {
    this.options = resolveIngressOptions(input);
    this.name = this.options.name;
    this.deadLetterSink = `ingress:${this.name}`;
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.window = new DedupeWindow(deps.broker.store, `ingress/${this.name}`, this.options.dedupeWindow);
    this.position = new IngressPosition(deps.broker.store, `ingress/${this.name}/position`);
    this.events.setMaxListeners(100);
  }

  /** Loads the dedupe window, then consumes in the background (NATS may be down: it keeps trying). */
  async start(): Promise<void> {
    await this.window.load();
    this.supervisor = this.run();
  }

  /** Finishes the batch in hand (committed and acked), gives the rest back, closes the connection. */
  async stop(): Promise<void> {
    if (this.halted) return;
    this.halted = true;
    this.wake.abort();
    // Each step is bounded: NATS may be away (then the unacked messages simply come again).
    const bound = this.options.connectTimeoutMs;
    if (this.messages !== undefined) await within(this.messages.close(), bound);
    await this.processing;
    for (const m of this.queue.splice(0)) m.nak();
    await this.supervisor;
    const nc = this.nc;
    this.nc = undefined;
    if (nc !== undefined && !nc.isClosed()) {
      await within(nc.flush(), bound); // the last acks
      await within(nc.close(), bound);
    }
    this.setState('stopped');
  }

  on(event: IngressEventName, listener: (e: IngressEvent) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  status(): { state: IngressState; lastError: string | undefined; stats: IngressStats; queued: number; window: number } {
    return { state: this.current, lastError: this.lastError, stats: { ...this.counters }, queued: this.queue.length, window: this.window.count };
  }

  /**
   * Publishes dead letters of this ingress to their NATS subjects again (with their
   * headers, under a new Nats-Msg-Id) and removes them. Returns how many went.
   */
  async replayDeadLetters(messageIds: readonly number[]): Promise<number> {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) throw new HoldfastError('INGRESS_NOT_CONNECTED', 'the ingress is not connected to NATS');
    return replayIngressDeadLetters(this.deps.broker.store, nc.jetstream(), this.deadLetterSink, messageIds);
  }

  // ---- consuming -------------------------------------------------------------------------

  private async run(): Promise<void> {
    const backoff = new Backoff({ baseMs: 250, capMs: 10_000 });
    while (!this.halted) {
      try {
        this.setState('connecting');
        if (this.nc === undefined || this.nc.isClosed()) this.nc = await connectIngress(this.options);
        if (this.halted) break;
        this.streamCreated = await ensureConsumer(this.nc, this.options, this.deps.logger, (c) => this.position.resumeAt(c));
        this.position.setStream(this.streamCreated);
        const consumer = await this.nc.jetstream().consumers.get(this.options.stream, durableName(this.options));
        const messages = await consumer.consume({
          max_messages: Math.min(this.options.maxAckPending, Math.max(this.options.batchSize, 64)),
          callback: (m) => this.enqueue(m),
        });
        this.messages = messages;
        if (this.halted) {
          await messages.close();
          break;
        }
        this.setState('consuming');
        backoff.reset();
        this.watch(messages);
        await messages.closed();
        this.messages = undefined;
      } catch (err) {
        this.lastError = errorText(err);
        if (!this.halted) this.deps.logger?.warn({ ingress: this.name, err: this.lastError }, 'JetStream ingress not consuming; trying again');
      }
      if (this.halted) break;
      this.setState('waiting');
      await sleep(backoff.next(), this.wake.signal).catch(() => undefined);
    }
  }

  /** A deleted consumer or stream ends this consume(): the supervisor sets them up again. */
  private watch(messages: ConsumerMessages): void {
    void (async () => {
      for await (const s of await messages.status()) {
        if (s.type === ConsumerEvents.ConsumerDeleted || s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound) {
          this.lastError = `${s.type}`;
          this.deps.logger?.warn({ ingress: this.name, event: s.type }, 'JetStream ingress: consumer gone; setting it up again');
          messages.stop();
          return;
        }
      }
    })().catch(() => undefined);
  }

  private enqueue(m: JsMsg): void {
    if (this.halted) return; // not acked: delivered again after ack_wait
    this.queue.push(m);
    if (this.processing !== undefined) return;
    this.processing = (async () => {
      try {
        while (this.queue.length > 0 && !this.halted) await this.handleBatch(this.queue.splice(0, this.options.batchSize));
      } finally {
        this.processing = undefined;
      }
    })().catch((err: unknown) => this.deps.logger?.error({ ingress: this.name, err: errorText(err) }, 'JetStream ingress: batch failed'));
  }

  private async handleBatch(batch: JsMsg[]): Promise<void> {
    const acks: { m: JsMsg; id: string; event: IngressEventName; error?: string }[] = [];
    const naks: { m: JsMsg; id: string; error: string }[] = [];
    const added: string[] = [];
    for (const m of batch) {
      const id = this.dedupeId(m);
      if (this.window.has(id)) {
        acks.push({ m, id, event: 'duplicate' });
        continue;
      }
      const failure = await this.handle(m);
      if (failure === undefined) {
        this.window.add(id);
        added.push(id);
        acks.push({ m, id, event: 'processed' });
      } else if (failure.poison && m.info.deliveryCount >= this.options.maxAttempts) {
        this.deps.broker.store.putDeadLetter(ingressDeadLetter(this.deadLetterSink, m, failure.error, this.clock.now()));
        acks.push({ m, id, event: 'dead-letter', error: failure.error });
      } else {
        naks.push({ m, id, error: failure.error });
      }
    }
    const positionStored = this.position.record(acks.map((a) => a.m.seq), naks.map((x) => x.m.seq));
    try {
      await this.commit(batch);
    } catch (err) {
      // The store gave the writes up: nothing of this batch is durable, all of it comes again.
      this.window.forget(added);
      this.position.record([], batch.map((m) => m.seq));
      for (const m of batch) m.nak(this.options.retryDelayMs);
      this.deps.logger?.error({ ingress: this.name, err: errorText(err) }, 'JetStream ingress: store commit failed; batch given back');
      return;
    }
    positionStored();
    if (this.deps.faults?.beforeAck?.(acks.map((a) => a.id)) === 'crash') {
      this.crash();
      return;
    }
    for (const a of acks) {
      a.m.ack();
      if (a.event === 'duplicate') this.counters.duplicates++;
      else if (a.event === 'dead-letter') this.counters.deadLettered++;
      this.emit(a.event, a.m, a.id, a.error);
    }
    for (const n of naks) {
      n.m.nak(this.options.retryDelayMs);
      this.counters.failures++;
      this.emit('failed', n.m, n.id, n.error);
    }
  }

  /** Publishes or sends the command; the failure when it cannot. */
  private async handle(m: JsMsg): Promise<Failure | undefined> {
    const o = this.options;
    const action = mapIngressMessage(viewOf(m), o.mapping, o.commands, this.deps.broker.topicLimits);
    if (action.kind === 'invalid') return { poison: true, error: action.reason };
    if (action.kind === 'publish') {
      try {
        this.deps.broker.publishFromServer({
          topic: action.topic,
          payload: action.payload,
          qos: action.qos,
          retain: action.retain,
          ...(action.properties !== undefined ? { properties: action.properties } : {}),
          ...(action.messageExpiryS !== undefined ? { messageExpiryS: action.messageExpiryS } : {}),
        });
      } catch (err) {
        return { poison: false, error: errorText(err) };
      }
      this.counters.published++;
      return undefined;
    }
    const commands = this.deps.commands;
    if (commands === undefined) return { poison: true, error: 'commands are enabled but the ingress has no command service' };
    try {
      await commands.send(action.deviceId, action.command);
      this.counters.commands++;
      return undefined;
    } catch (err) {
      // The message's fault: no such device, or a command the service refuses.
      const poison = isPlatformError(err, 'DEVICE_NOT_FOUND') || isPlatformError(err, 'INVALID_INPUT');
      return { poison, error: errorText(err) };
    }
  }

  /** store.flush(), telling JetStream we are still working on the batch while it waits. */
  private async commit(batch: readonly JsMsg[]): Promise<void> {
    const pending = this.deps.broker.store.flush();
    if (pending === undefined) return;
    const beat = setInterval(() => {
      for (const m of batch) m.working();
    }, Math.max(100, Math.floor(this.options.ackWaitMs / 3)));
    try {
      await pending;
    } finally {
      clearInterval(beat);
    }
  }

  private crash(): void {
    this.halted = true;
    this.queue = [];
    this.wake.abort();
    this.messages?.stop();
    const nc = this.nc;
    this.nc = undefined;
    void nc?.close().catch(() => undefined);
    this.setState('crashed');
  }

  private dedupeId(m: JsMsg): string {
    const msgId = m.headers?.get('Nats-Msg-Id');
    return msgId !== undefined && msgId !== '' ? `id:${msgId}` : `seq:${this.streamCreated}:${m.seq}`;
  }

  private emit(event: IngressEventName, m: JsMsg, id: string, error?: string): void {
    if (event === 'failed' && error !== undefined) this.deps.logger?.debug({ ingress: this.name, seq: m.seq, err: error }, 'JetStream ingress: message failed; delivered again later');
    if (event === 'dead-letter') this.deps.logger?.warn({ ingress: this.name, seq: m.seq, err: error }, 'JetStream ingress: message dead-lettered');
    this.events.emit(event, { id, seq: m.seq, subject: m.subject, ...(error !== undefined ? { error } : {}) } satisfies IngressEvent);
  }

  private setState(s: IngressState): void {
    if (s === this.current) return;
    this.current = s;
    this.events.emit('state', { id: '', seq: 0, subject: '', state: s } satisfies IngressEvent);
  }
}

/** Waits for `p` at most `ms`; its outcome does not matter. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== err.message ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
