/**
 * The OTLP/HTTP export of the shipped tracing setup, on a worker thread (started by otlp.ts):
 * batches arrive already encoded (encoded-batch.ts, a transferred buffer each) and leave as POSTs to
 * the collector. HTTP, its retries and its timeouts never run on the broker's event loop.
 *
 * OTLP/HTTP (OpenTelemetry Protocol specification, "OTLP/HTTP Response", "Retryable Response
 * Codes"): 2xx is success; 429, 502, 503 and 504 are retried with exponential backoff and
 * jitter, after `Retry-After` seconds when the collector sends it (capped); anything else, or
 * the last failed attempt, fails the batch (counted by the caller, the spans are dropped).
 *
 * Protocol with otlp.ts (ExportWorkerIn / ExportWorkerOut): `ready` once started; each
 * `batch` is answered by one `done` with its id (batches are joined into larger requests,
 * see `dispatch`); `shutdown` waits for the requests in flight
 * (each bounded by the timeout) and answers `closed`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeRequest, type OtlpResource } from './otlp-json.js';

export interface ExportWorkerData {
  url: string;
  timeoutMs: number;
  resource: OtlpResource;
  /** Extra request headers (OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS, parsed by otlp.ts). */
  headers: Record<string, string>;
  userAgent: string;
  /** Attempts per batch for retryable failures (1 = no retry). */
  attempts: number;
  /** First retry delay; doubled per attempt, with full jitter. */
  retryBaseMs: number;
  /** Spans per request at most (batches from the broker's thread are joined up to this). */
  coalesceSpans: number;
  /** Longest wait of a batch for others to join it. */
  coalesceMs: number;
}

/** `bytes` (transferred) holds `length` bytes of comma-separated OTLP JSON spans (encoded-batch.ts). */
export type ExportWorkerIn = { type: 'batch'; id: number; count: number; bytes: ArrayBuffer; length: number } | { type: 'shutdown' };
export type ExportWorkerOut = { type: 'ready' } | { type: 'done'; id: number; ok: boolean; error?: string } | { type: 'closed' };

/** Longest wait a Retry-After may ask for. */
const MAX_RETRY_AFTER_MS = 30_000;
const RETRYABLE = new Set([429, 502, 503, 504]);

interface Attempt {
  ok: boolean;
  retryable: boolean;
  retryAfterMs?: number;
  error?: string;
}

function retryAfterMs(res: IncomingMessage): number | undefined {
  const v = res.headers['retry-after'];
  if (typeof v !== 'string') return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - Date.now()), MAX_RETRY_AFTER_MS);
}

/**
 * The request body is written into one buffer kept for the worker's life (grown when a
 * request needs more): a fresh 300 KB string and Buffer per request cost this thread about
 * 3 ms of CPU each here, half of it in page faults (allocations past glibc's mmap threshold
 * get new pages every time), against about a tenth of that for writing into pages already
 * mapped. One request at a time, so the buffer is never shared.
 */
class BodyBuffer {
  private buf = Buffer.allocUnsafe(512 * 1024);
  private readonly head: Buffer;
  private readonly tail: Buffer;

  constructor(resource: OtlpResource) {
    // encodeRequest around a marker: what goes before and after the spans.
    const marker = '\u0000SPANS\u0000';
    const whole = encodeRequest(resource, marker);
    const at = whole.indexOf(marker);
    this.head = Buffer.from(whole.slice(0, at));
    this.tail = Buffer.from(whole.slice(at + marker.length));
  }

  /** The request for these span lists (each a comma-separated run of spans), valid until the next fill. */
  fill(parts: readonly Uint8Array[]): Buffer {
    let need = this.head.length + this.tail.length + parts.length;
    for (const p of parts) need += p.length;
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    const b = this.buf;
    b.set(this.head, 0);
    let off = this.head.length;
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) b[off++] = 0x2c; // ','
      b.set(parts[i]!, off);
      off += parts[i]!.length;
    }
    b.set(this.tail, off);
    off += this.tail.length;
    return b.subarray(0, off);
  }
}

interface Group {
  ids: number[];
  spans: Uint8Array[];
  count: number;
}

function startExporter(port: NonNullable<typeof parentPort>, data: ExportWorkerData): void {
  const send = (m: ExportWorkerOut): void => port.postMessage(m);
  const url = new URL(data.url);
  const https = url.protocol === 'https:';
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const request = https ? httpsRequest : httpRequest;
  const body = new BodyBuffer(data.resource);
  let closing = false;

  const post = (bytes: Buffer): Promise<Attempt> =>
    new Promise((resolve) => {
      const req = request(url, {
        method: 'POST',
        agent,
        timeout: data.timeoutMs,
        headers: { ...data.headers, 'content-type': 'application/json', 'content-length': bytes.length, 'user-agent': data.userAgent },
      });
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${data.timeoutMs} ms`)), data.timeoutMs);
      const finish = (a: Attempt): void => {
        clearTimeout(deadline);
        resolve(a);
      };
      req.on('response', (res) => {
        res.resume(); // the body (an ExportTraceServiceResponse, maybe a partial success) is not needed
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) finish({ ok: true, retryable: false });
          else {
            const after = retryAfterMs(res);
            finish({ ok: false, retryable: RETRYABLE.has(code), ...(after !== undefined ? { retryAfterMs: after } : {}), error: `HTTP ${code}` });
          }
        });
        res.on('error', (err) => finish({ ok: false, retryable: true, error: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${data.timeoutMs} ms`)));
      req.on('error', (err) => finish({ ok: false, retryable: true, error: err.message }));
      req.end(bytes);
    });

  const exportGroup = async (g: Group): Promise<void> => {
    const bytes = body.fill(g.spans);
    let last: Attempt = { ok: false, retryable: false, error: 'not sent' };
    for (let attempt = 1; attempt <= data.attempts; attempt++) {
      last = await post(bytes);
      if (last.ok || !last.retryable || attempt === data.attempts || closing) break;
      const backoff = last.retryAfterMs ?? Math.random() * data.retryBaseMs * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, backoff));
    }
    for (const id of g.ids) send(last.ok ? { type: 'done', id, ok: true } : { type: 'done', id, ok: false, error: last.error ?? 'export failed' });
  };

  // Batches are joined into one request of up to `coalesceSpans` spans, sent at the latest
  // `coalesceMs` after the first of them arrived: fewer, larger requests (each costs this
  // thread about a millisecond whatever its size), from the broker's batches of up to 128
  // spans (~55 KB). Requests leave one at a time, in order.
  let joining: (Group & { timer: NodeJS.Timeout }) | undefined;
  const ready: Group[] = [];
  let sending = false;
  let drained: (() => void) | undefined;
  const pump = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    for (let g = ready.shift(); g !== undefined; g = ready.shift()) await exportGroup(g);
    sending = false;
    if (joining === undefined) drained?.();
  };
  const seal = (): void => {
    const j = joining;
    if (j === undefined) return;
    joining = undefined;
    clearTimeout(j.timer);
    ready.push({ ids: j.ids, spans: j.spans, count: j.count });
    void pump();
  };
  port.on('message', (m: ExportWorkerIn) => {
    if (m.type === 'batch') {
      joining ??= { ids: [], spans: [], count: 0, timer: setTimeout(seal, data.coalesceMs) };
      joining.ids.push(m.id);
      joining.spans.push(new Uint8Array(m.bytes, 0, m.length));
      joining.count += m.count;
      if (joining.count >= data.coalesceSpans || closing) seal();
    } else {
      closing = true;
      seal();
      drained = () => {
        agent.destroy();
        send({ type: 'closed' });
      };
      if (!sending) drained();
    }
  });
  send({ type: 'ready' });
}

if (parentPort !== null) startExporter(parentPort, workerData as ExportWorkerData);
