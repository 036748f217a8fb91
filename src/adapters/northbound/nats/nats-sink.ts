/**
 * The NATS JetStream sink (issue 9): every message of a batch is published to the subject
 * its template gives, with `Nats-Msg-Id: <idempotencyKey>` so that the stream drops a
 * retry it already stored (within the stream's duplicate window), and counts as delivered
 * only once its PubAck came back (the stream has stored it).
 *
 * Publishes of a batch are pipelined (maxInFlight at once) on one connection, in batch
 * order, so the stream stores them in that order. A failure in the middle of a batch can
 * let a later message land before the earlier one's retry: maxInFlight 1 keeps strict
 * order at the price of one round trip per message.
 */
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs, type NatsConnection } from 'nats';
import { isHoldfastError } from '../../../errors/index.js';
import type { Logger } from '../../../observability/logger.js';
import type { Sink, SinkMessage, SinkOutcome } from '../../../ports/sink.js';
import { abortable } from '../../../resilience/abortable.js';
import { NatsLink, describe, unavailable, type LinkState } from './nats-link.js';
import { resolveNatsSinkOptions, type NatsSinkInput, type NatsSinkOptions } from './nats-sink-options.js';
import { classifyPublishError, type PublishFailure } from './publish-errors.js';
import { ensureStream, lookupSubject, type StreamSpec } from './stream-setup.js';
import { compileSubjectTemplate, streamSubjectsOf, type SubjectTemplate } from './subject-template.js';

export interface NatsSinkDeps {
  logger?: Logger;
}

export interface NatsSinkState {
  connection: LinkState;
  lastError: string | undefined;
  /** ensureStream only: whether the stream is known to exist on this connection. */
  streamReady: boolean | undefined;
}

/** Distinct subjects looked up per batch after "no responders"; the rest are retried. */
const MAX_LOOKUPS_PER_BATCH = 8;

type Attempt = { ok: true } | { ok: false; failure: PublishFailure };

export class NatsSink implements Sink {
  readonly kind = 'nats';
  readonly name: string;
  readonly options: NatsSinkOptions;
  private readonly link: NatsLink;
  private readonly subjectOf: SubjectTemplate;
  private readonly logger: Logger | undefined;
  private readonly streamSpec: StreamSpec | undefined;
  private jsFor: { nc: NatsConnection; js: JetStreamClient } | undefined;
  /** The connection on which the stream was last seen or created (ensureStream). */
  private streamSeenOn: NatsConnection | undefined;
  private lastError: string | undefined;

  constructor(input: NatsSinkInput, deps: NatsSinkDeps = {}) {
    this.options = resolveNatsSinkOptions(input);
    this.name = this.options.name;
    this.logger = deps.logger;
    this.subjectOf = compileSubjectTemplate(this.options.subjectTemplate);
    this.link = new NatsLink(this.options, `holdfast-sink-${this.name}`, this.logger);
    const o = this.options;
    this.streamSpec = o.ensureStream && o.stream !== undefined
      ? {
          name: o.stream,
          subjects: o.streamSubjects ?? streamSubjectsOf(o.subjectTemplate) ?? [],
          storage: o.streamStorage,
          replicas: o.streamReplicas,
          duplicateWindowMs: o.duplicateWindowMs,
        }
      : undefined;
  }

  /**
   * Connects (and sets up the stream), waiting at most connectTimeoutMs + publishTimeoutMs;
   * never throws: a NATS that is down does not stop the broker, and send() tries again.
   */
  async start(): Promise<void> {
    const signal = AbortSignal.timeout(this.options.connectTimeoutMs + this.options.publishTimeoutMs);
    try {
      const nc = await this.link.ready(signal);
      await this.prepareStream(nc);
    } catch (err) {
      this.lastError = describe(err);
      this.logger?.warn({ sink: this.name, err: this.lastError }, 'NATS sink not ready at start: batches are retried until it is');
    }
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  state(): NatsSinkState {
    return {
      connection: this.link.state,
      lastError: this.link.lastError ?? this.lastError,
      streamReady: this.streamSpec === undefined ? undefined : this.streamSeenOn !== undefined,
    };
  }

  /** The subject a message goes to (for status pages and tests). */
  subjectFor(m: Pick<SinkMessage, 'topic' | 'publisherId' | 'qos'>): string {
    return this.subjectOf(m);
  }

  async send(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    if (signal.aborted) throw unavailable('batch deadline passed before sending');
    const nc = await this.link.ready(signal);
    if (this.streamSpec !== undefined && this.streamSeenOn !== nc) {
      await abortable(this.prepareStream(nc), signal, () => unavailable('batch deadline passed while setting up the stream'));
    }
    const js = this.jetstream(nc);
    const subjects = batch.map((m) => this.subjectOf(m));
    const attempts: Attempt[] = new Array<Attempt>(batch.length);
    // One abort listener per batch, raced by every publish of it.
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(unavailable('batch deadline passed waiting for the PubAck'));
    });
    aborted.catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < batch.length; i = next++) {
        attempts[i] = signal.aborted
          ? { ok: false, failure: { kind: 'retry', error: 'batch deadline passed before this message was sent' } }
          : await this.publishOne(js, batch[i]!, subjects[i]!, aborted);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.options.maxInFlight, batch.length) }, worker));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    const outcomes = await this.settleNoStream(nc, attempts, subjects, signal);
    const failed = outcomes.find((o): o is Exclude<SinkOutcome, { status: 'ok' }> => o.status !== 'ok');
    this.lastError = failed?.error;
    return outcomes;
  }

  private jetstream(nc: NatsConnection): JetStreamClient {
    if (this.jsFor?.nc !== nc) this.jsFor = { nc, js: nc.jetstream({ timeout: this.options.publishTimeoutMs }) };
    return this.jsFor.js;
  }

  private async prepareStream(nc: NatsConnection): Promise<void> {
    if (this.streamSpec === undefined) return;
    await ensureStream(nc, this.streamSpec, this.options.publishTimeoutMs, this.logger);
    this.streamSeenOn = nc;
  }

  private async publishOne(js: JetStreamClient, m: SinkMessage, subject: string, aborted: Promise<never>): Promise<Attempt> {
    if (Buffer.byteLength(subject, 'utf8') > this.options.maxSubjectBytes) {
      return { ok: false, failure: { kind: 'permanent', error: `subject longer than maxSubjectBytes ${this.options.maxSubjectBytes}` } };
    }
    const publish = js.publish(subject, m.body, {
      msgID: m.idempotencyKey,
      timeout: this.options.publishTimeoutMs,
      ...(this.options.stream !== undefined ? { expect: { streamName: this.options.stream } } : {}),
      ...(this.options.headers ? { headers: this.headersOf(m) } : {}),
    });
    publish.catch(() => undefined); // after an abort nobody waits for it
    try {
      await Promise.race([publish, aborted]);
      return { ok: true };
    } catch (err) {
      if (isHoldfastError(err, 'NATS_UNAVAILABLE')) return { ok: false, failure: { kind: 'retry', error: err.message } };
      return { ok: false, failure: classifyPublishError(err) };
    }
  }

  private headersOf(m: SinkMessage): MsgHdrs {
    const h = natsHeaders();
    h.set('Holdfast-Topic', headerValue(m.topic));
    if (m.publisherId !== undefined) h.set('Holdfast-Client-Id', headerValue(m.publisherId));
    h.set('Holdfast-Qos', String(m.qos));
    h.set('Holdfast-Message-Id', String(m.messageId));
    h.set('Holdfast-Created-At', String(m.createdAt));
    const ct = m.properties?.contentType;
    if (ct !== undefined) h.set('Content-Type', headerValue(ct));
    return h;
  }

  /** Turns the "no responders" answers into permanent (no stream captures the subject) or retry. */
  private async settleNoStream(nc: NatsConnection, attempts: readonly Attempt[], subjects: readonly string[], signal: AbortSignal): Promise<SinkOutcome[]> {
    const lookups = new Map<string, Promise<PublishFailure>>();
    return Promise.all(
      attempts.map(async (a, i): Promise<SinkOutcome> => {
        if (a.ok) return { status: 'ok' };
        if (a.failure.kind !== 'no-stream') return { status: a.failure.kind, error: a.failure.error };
        const subject = subjects[i]!;
        let verdict = lookups.get(subject);
        if (verdict === undefined) {
          verdict = lookups.size < MAX_LOOKUPS_PER_BATCH && !signal.aborted ? this.noStreamVerdict(nc, subject, a.failure) : Promise.resolve({ kind: 'retry', error: a.failure.error });
          lookups.set(subject, verdict);
        }
        const v = await verdict;
        return { status: v.kind === 'permanent' ? 'permanent' : 'retry', error: v.error };
      }),
    );
  }

  private async noStreamVerdict(nc: NatsConnection, subject: string, failure: PublishFailure): Promise<PublishFailure> {
    const found = await lookupSubject(nc, subject, this.options.publishTimeoutMs);
    if (found === 'unknown') return { kind: 'retry', error: `${failure.error}; JetStream did not answer either (not up?)` };
    if (found === 'captured') return { kind: 'retry', error: `${failure.error}; a stream captures the subject now` };
    if (this.streamSpec !== undefined) {
      // The stream went away (deleted, or a memory stream lost in a restart): make it again.
      this.streamSeenOn = undefined;
      try {
        const done = await ensureStream(nc, this.streamSpec, this.options.publishTimeoutMs, this.logger);
        this.streamSeenOn = nc;
        if (done === 'exists') {
          return { kind: 'permanent', error: `NATS_NO_STREAM: stream ${this.streamSpec.name} exists but does not capture subject ${subject}` };
        }
        return { kind: 'retry', error: `stream ${this.streamSpec.name} was missing and has been created` };
      } catch (err) {
        return { kind: 'retry', error: `stream ${this.streamSpec.name} is missing: ${describe(err)}` };
      }
    }
    return { kind: 'permanent', error: `NATS_NO_STREAM: no JetStream stream captures subject ${subject}` };
  }
}

/**
 * NATS header values end at CR/LF. A value with control characters (which MQTT topics
 * should not have, MQTT 1.5.4) is percent-encoded, `%` included; others go as they are.
 */
function headerValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(v) ? v.replace(/[%\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`) : v;
}

/** The part of a `bridges.sinks[]` entry this sink reads (kind nats). */
export interface NatsSinkConfigLike {
  readonly name: string;
  readonly nats?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The bridge engine's factory for kind `nats`: the entry's `nats` options (natsSinkConfigSchema)
 * under the entry's name. Throws NATS_SINK_CONFIG when the options are not valid.
 */
export function createNatsSink(config: NatsSinkConfigLike, ctx: NatsSinkDeps = {}): NatsSink {
  return new NatsSink({ ...(config.nats as Omit<NatsSinkInput, 'name'> | undefined), name: config.name }, ctx);
}
