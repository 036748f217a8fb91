/**
 * What the webhook received, checked against what the publishers had acknowledged:
 * - every acknowledged message arrives at least once;
 * - idempotency keys are unique per message (one key never names two different messages,
 *   one message never arrives under two keys);
 * - per device, messages arrive (first arrival of each) in the order they were published.
 * Messages carry `seqPayload(seq)`; the device is the publishing client id.
 */
import { verifyWebhookSignature } from '../../src/adapters/northbound/index.js';
import { seqOf } from '../helpers/store-clients.js';
import { batchItems, type WebhookRequest } from './bridges-helpers.js';

export class DeliveryLedger {
  /** key -> "device:seq" */
  private readonly byKey = new Map<string, string>();
  /** "device:seq" -> key */
  private readonly byMessage = new Map<string, string>();
  private readonly lastSeq = new Map<string, number>();
  readonly problems: string[] = [];
  arrivals = 0;
  duplicates = 0;
  badSignatures = 0;

  constructor(private readonly secret: string | undefined) {}

  get unique(): number {
    return this.byKey.size;
  }

  /** Records an accepted batch request. */
  record(req: WebhookRequest): void {
    if (this.secret !== undefined && !verifyWebhookSignature(this.secret, req.body, req.headers['x-holdfast-signature'] as string | undefined)) this.badSignatures++;
    for (const m of batchItems(req)) {
      this.arrivals++;
      const device = m.clientId ?? '?';
      const seq = seqOf(Buffer.from(m.payloadBase64 ?? '', 'base64'));
      const id = `${device}:${seq}`;
      const known = this.byKey.get(m.idempotencyKey);
      if (known !== undefined) {
        if (known !== id) this.problem(`key ${m.idempotencyKey} names two messages: ${known} and ${id}`);
        this.duplicates++;
        continue;
      }
      const otherKey = this.byMessage.get(id);
      if (otherKey !== undefined) this.problem(`message ${id} arrived under two keys: ${otherKey} and ${m.idempotencyKey}`);
      this.byKey.set(m.idempotencyKey, id);
      this.byMessage.set(id, m.idempotencyKey);
      const last = this.lastSeq.get(device) ?? 0;
      if (seq <= last) this.problem(`device ${device}: seq ${seq} arrived after seq ${last}`);
      else this.lastSeq.set(device, seq);
    }
  }

  has(device: string, seq: number): boolean {
    return this.byMessage.has(`${device}:${seq}`);
  }

  /** The seqs that arrived, per device. */
  byDevice(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const id of this.byMessage.keys()) {
      const at = id.lastIndexOf(':');
      const device = id.slice(0, at);
      const list = out.get(device) ?? [];
      list.push(Number(id.slice(at + 1)));
      out.set(device, list);
    }
    return out;
  }

  /** Acknowledged messages that never arrived. */
  missing(acked: ReadonlyMap<string, Iterable<number>>): string[] {
    const out: string[] = [];
    for (const [device, seqs] of acked) for (const s of seqs) if (!this.has(device, s)) out.push(`${device}:${s}`);
    return out;
  }

  private problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }
}
