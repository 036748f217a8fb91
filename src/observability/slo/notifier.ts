/**
 * The optional alert webhook: each alert state change is POSTed as JSON to a URL, with a
 * deadline per request and a bound on requests in flight (past it, events are dropped and
 * counted, never queued without limit). Failures are reported to `onError` (a rate-
 * limited log line), never thrown.
 */
import type { AlertEvent } from './spec.js';

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
  maxInFlight?: number;
  headers?: Record<string, string>;
  onError?: (err: unknown, event: AlertEvent) => void;
  fetchImpl?: typeof fetch;
}

export class AlertWebhook {
  inFlight = 0;
  sent = 0;
  failed = 0;
  dropped = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: WebhookOptions) {}

  send(event: AlertEvent): void {
    if (this.inFlight >= (this.opts.maxInFlight ?? 16)) {
      this.dropped++;
      return;
    }
    this.inFlight++;
    const doFetch = this.opts.fetchImpl ?? fetch;
    const p = doFetch(this.opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.opts.headers },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
        this.sent++;
      })
      .catch((err: unknown) => {
        this.failed++;
        this.opts.onError?.(err, event);
      })
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  /** Waits for the requests in flight (each has its own deadline). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
