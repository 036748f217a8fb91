/**
 * The HTTP webhook sink (issue 9): POSTs to one URL over an undici Pool (keep-alive
 * connections, bounded), every request signed (X-Holdfast-Signature) and carrying an
 * Idempotency-Key, with a per-request timeout (connect, headers, body) on top of the
 * batch deadline the engine passes as an AbortSignal.
 *
 * Answers: 2xx ok; 408, 429 and 5xx transient; any other status (3xx: redirects are not
 * followed, 4xx) refused for good. Network errors and timeouts are transient.
 * - batch mode: one request per batch, so the whole batch shares the answer: transient ->
 *   the send rejects (the engine backs off and retries the batch; the messages are not
 *   charged an attempt), refused -> every message `permanent`.
 * - single mode: one request per message; the messages of one device are sent one after
 *   the other (a failed one holds back the rest of that device's messages in the batch:
 *   `retry`, so order is kept), different devices in parallel up to `concurrency`. If no
 *   message got anything but a transient failure, the send rejects (the receiver is away).
 */
import { Pool } from 'undici';
import { HoldfastError } from '../../../errors/index.js';
import type { Logger } from '../../../observability/logger.js';
import type { Clock } from '../../../ports/clock.js';
import type { Sink, SinkMessage, SinkOutcome } from '../../../ports/sink.js';
import { batchBody, contentTypeOf } from './http-body.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody } from './http-signature.js';

export interface HttpSinkOptions {
  readonly url: string;
  readonly mode: 'batch' | 'single';
  readonly secret?: string | undefined;
  readonly timeoutMs: number;
  readonly connections: number;
  readonly concurrency: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** The part of a `bridges.sinks[]` entry this sink reads. */
export interface HttpSinkConfigLike {
  readonly name: string;
  readonly http?: HttpSinkOptions | undefined;
}

export interface HttpSinkContext {
  logger: Logger;
  clock: Clock;
}

/** How much of an error response is kept for the error message (the rest is read and dropped). */
const SNIPPET_BYTES = 300;
const KEEP_ALIVE_MS = 30_000;

type Answer = { kind: 'status'; status: number; snippet: string } | { kind: 'error'; error: unknown };

function classify(a: Answer): SinkOutcome {
  if (a.kind === 'error') return { status: 'retry', error: errorText(a.error) };
  const s = a.status;
  if (s >= 200 && s < 300) return { status: 'ok' };
  const error = `HTTP ${s}${a.snippet.length > 0 ? `: ${a.snippet}` : ''}`;
  if (s === 408 || s === 429 || s >= 500) return { status: 'retry', error };
  return { status: 'permanent', error: s >= 300 && s < 400 ? `${error} (redirects are not followed)` : error };
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export class HttpSink implements Sink {
  readonly kind = 'http';
  readonly name: string;
  /** Sinks on the same host share a breaker (the engine keys it by this). */
  readonly endpoint: string;
  private readonly url: URL;
  private readonly path: string;
  private readonly pool: Pool;
  private readonly opts: HttpSinkOptions;

  constructor(config: HttpSinkConfigLike, private readonly ctx: HttpSinkContext) {
    if (config.http === undefined) throw new HoldfastError('BRIDGE_CONFIG', `bridge sink "${config.name}" of kind http has no http section`);
    this.name = config.name;
    this.opts = config.http;
    this.url = new URL(this.opts.url);
    this.path = `${this.url.pathname}${this.url.search}`;
    this.endpoint = `http:${this.url.host}`;
    const t = this.opts.timeoutMs;
    this.pool = new Pool(this.url.origin, {
      connections: this.opts.connections,
      keepAliveTimeout: KEEP_ALIVE_MS,
      headersTimeout: t,
      bodyTimeout: t,
      connect: { timeout: t },
    });
  }

  async start(): Promise<void> {
    // Connections are opened on demand (and kept alive): nothing to do.
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  async send(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    if (batch.length === 0) return [];
    return this.opts.mode === 'batch' ? this.sendBatch(batch, signal) : this.sendSingles(batch, signal);
  }

  private async sendBatch(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    const body = batchBody(batch);
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const answer = await this.post(
      body,
      {
        'content-type': 'application/json',
        // The batch as a whole (the same on a retry of the same batch); receivers dedupe on messages[].idempotencyKey.
        'idempotency-key': `${first.idempotencyKey}-${last.messageId}-${batch.length}`,
        'x-holdfast-count': String(batch.length),
      },
      signal,
    );
    const outcome = classify(answer);
    if (outcome.status === 'retry') {
      signal.throwIfAborted();
      throw new HoldfastError('BRIDGE_HTTP_UNAVAILABLE', `webhook ${this.name} (${this.url.host}): ${outcome.error}`, {
        cause: answer.kind === 'error' ? answer.error : undefined,
      });
    }
    return batch.map(() => outcome);
  }

  private async sendSingles(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    const outcomes = new Array<SinkOutcome>(batch.length);
    const chains = new Map<string, number[]>();
    batch.forEach((m, i) => {
      const key = m.publisherId ?? '';
      const chain = chains.get(key);
      if (chain === undefined) chains.set(key, [i]);
      else chain.push(i);
    });
    const queue = [...chains.values()];
    let answered = false;
    let firstError: string | undefined;
    const worker = async (): Promise<void> => {
      for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) {
        let blockedBy: number | undefined;
        for (const i of chain) {
          const m = batch[i]!;
          if (blockedBy !== undefined || signal.aborted) {
            outcomes[i] = { status: 'retry', error: `held back: message ${blockedBy ?? '-'} of the same device was not delivered` };
            continue;
          }
          const o = classify(await this.postOne(m, signal));
          outcomes[i] = o;
          if (o.status !== 'retry') answered = true;
          if (o.status !== 'ok') {
            blockedBy = m.messageId;
            firstError ??= o.error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, queue.length) }, worker));
    signal.throwIfAborted();
    if (!answered) throw new HoldfastError('BRIDGE_HTTP_UNAVAILABLE', `webhook ${this.name} (${this.url.host}): ${firstError ?? 'no answer'}`);
    return outcomes;
  }

  private postOne(m: SinkMessage, signal: AbortSignal): Promise<Answer> {
    return this.post(
      m.body,
      {
        'content-type': contentTypeOf(m),
        'idempotency-key': m.idempotencyKey,
        'x-holdfast-topic': encodeURIComponent(m.topic),
        'x-holdfast-client-id': encodeURIComponent(m.publisherId ?? ''),
        'x-holdfast-attempt': String(m.attempt),
      },
      signal,
    );
  }

  /** One POST; never throws except for the caller's abort (reported as an answer of kind error otherwise). */
  private async post(body: Buffer, own: Record<string, string>, signal: AbortSignal): Promise<Answer> {
    const headers: Record<string, string> = { ...this.opts.headers, ...own, [TIMESTAMP_HEADER]: String(this.ctx.clock.now()) };
    if (this.opts.secret !== undefined) headers[SIGNATURE_HEADER] = signWebhookBody(this.opts.secret, body);
    try {
      const res = await this.pool.request({ method: 'POST', path: this.path, headers, body, signal });
      let snippet = '';
      if (res.statusCode < 200 || res.statusCode >= 300) {
        for await (const chunk of res.body) {
          if (snippet.length < SNIPPET_BYTES) snippet += (chunk as Buffer).toString('utf8');
        }
        snippet = snippet.slice(0, SNIPPET_BYTES).replace(/\s+/g, ' ').trim();
      } else {
        await res.body.dump();
      }
      return { kind: 'status', status: res.statusCode, snippet };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      return { kind: 'error', error: err };
    }
  }
}

export function createHttpSink(config: HttpSinkConfigLike, ctx: HttpSinkContext): HttpSink {
  return new HttpSink(config, ctx);
}
