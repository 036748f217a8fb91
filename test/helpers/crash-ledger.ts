/**
 * Book-keeping for the crash tests (test/chaos/crash-*.test.ts): what each publisher sent
 * and what the broker acknowledged, what each subscriber received, and the checks that
 * compare the two.
 *
 * What a publisher can know (and so what can be asserted):
 * - QoS 1: PUBACK seen => the broker accepted ownership (MQTT-4.3.2-2 in 3.1.1, MQTT-4.3.2-4
 *   in 5.0) after it committed the message and its copies for the persistent sessions
 *   (issue 4's durability contract), so every subscriber must receive
 *   it at least once, even across kill -9. No PUBACK seen (in flight when the broker died)
 *   => unknown fate: it may arrive or not; duplicates are allowed for QoS 1 and counted.
 * - QoS 2: PUBREC seen => the broker accepted ownership (MQTT-4.3.3-2 in 3.1.1, MQTT-4.3.3-8/9
 *   in 5.0; issue 4: PUBREC only after the message and its copies are committed), so it must
 *   arrive exactly once ("MUST NOT cause duplicate messages to be delivered to any onward
 *   recipients").
 *   PUBCOMP only adds that the publisher's PUBREL was seen; the message was already owned.
 *   No PUBREC seen => unknown fate; the publisher in these tests never resends, so it may
 *   arrive at most once. Hence for every QoS 2 message, PUBREC seen or not: never twice.
 */

export type CrashQos = 1 | 2;

export interface PublishRecord {
  readonly key: string;
  readonly publisher: string;
  readonly seq: number;
  readonly qos: CrashQos;
  readonly round: number;
  /** QoS 1: PUBACK seen; QoS 2: PUBCOMP seen. */
  acked: boolean;
  /** QoS 2 only: a successful PUBREC (reason code < 0x80) seen. */
  pubrec: boolean;
}

export const payloadKey = (publisher: string, seq: number): string => `${publisher}:${seq}`;

export function parseKey(key: string): { publisher: string; seq: number } | undefined {
  const i = key.lastIndexOf(':');
  if (i <= 0) return undefined;
  const seq = Number(key.slice(i + 1));
  return Number.isInteger(seq) ? { publisher: key.slice(0, i), seq } : undefined;
}

/** Everything published in all rounds of one crash test. */
export class Ledger {
  readonly messages = new Map<string, PublishRecord>();
  /** Publishes the broker refused (error reason code) while the connection was up: never expected here. */
  readonly refusals: string[] = [];

  sent(publisher: string, seq: number, qos: CrashQos, round: number): string {
    const key = payloadKey(publisher, seq);
    this.messages.set(key, { key, publisher, seq, qos, round, acked: false, pubrec: false });
    return key;
  }

  acked(key: string): void {
    const m = this.messages.get(key);
    if (m !== undefined) m.acked = true;
  }

  pubrec(key: string): void {
    const m = this.messages.get(key);
    if (m !== undefined) m.pubrec = true;
  }

  count(pred: (m: PublishRecord) => boolean): number {
    let n = 0;
    for (const m of this.messages.values()) if (pred(m)) n++;
    return n;
  }
}

/** What one subscriber received: every PUBLISH the application saw, in order. */
export class Inbox {
  readonly counts = new Map<string, number>();
  /** Per publisher, the sequence numbers in the order of their first arrival. */
  readonly firstOrder = new Map<string, number[]>();
  /** Payloads that match no sent message (or a sentinel/probe the caller did not filter). */
  readonly foreign: string[] = [];
  /** Messages delivered with a QoS other than min(published, granted). */
  readonly wrongQos: string[] = [];
  total = 0;

  add(payload: string, deliveredQos: number, expectedQos: number | undefined): void {
    this.total++;
    const n = (this.counts.get(payload) ?? 0) + 1;
    this.counts.set(payload, n);
    if (expectedQos !== undefined && deliveredQos !== expectedQos) this.wrongQos.push(`${payload} at QoS ${deliveredQos}`);
    if (n > 1) return;
    const k = parseKey(payload);
    if (k === undefined) {
      this.foreign.push(payload);
      return;
    }
    let seqs = this.firstOrder.get(k.publisher);
    if (seqs === undefined) this.firstOrder.set(k.publisher, (seqs = []));
    seqs.push(k.seq);
  }
}

export interface DeliveryReport {
  ackedQos1: number;
  ackedQos2: number;
  /** QoS 1 PUBACK seen, or QoS 2 PUBREC seen, and never received. */
  lost: string[];
  /** QoS 1 messages received more than once (allowed; counted). */
  qos1Duplicates: number;
  /** QoS 2 messages received more than once (never allowed). */
  qos2Duplicates: string[];
  /** Received although never sent (or a payload that is not a key). */
  phantom: string[];
  /** Per publisher, first arrivals that came after a later sequence number (MQTT-4.6.0-6). */
  outOfOrder: string[];
  /** Received, but the broker never acknowledged them (in flight at the crash): fine. */
  unackedDelivered: number;
  wrongQos: string[];
}

/** Compares one subscriber's inbox with the ledger. `wanted` selects the messages it subscribed to. */
export function checkDeliveries(ledger: Ledger, inbox: Inbox, wanted: (m: PublishRecord) => boolean): DeliveryReport {
  const r: DeliveryReport = {
    ackedQos1: 0,
    ackedQos2: 0,
    lost: [],
    qos1Duplicates: 0,
    qos2Duplicates: [],
    phantom: [],
    outOfOrder: [],
    unackedDelivered: 0,
    wrongQos: [...inbox.wrongQos],
  };
  for (const m of ledger.messages.values()) {
    if (!wanted(m)) continue;
    const got = inbox.counts.get(m.key) ?? 0;
    const owned = m.qos === 1 ? m.acked : m.pubrec;
    if (owned) {
      if (m.qos === 1) r.ackedQos1++;
      else r.ackedQos2++;
      if (got === 0) r.lost.push(m.key);
    } else if (got > 0) {
      r.unackedDelivered++;
    }
    if (got > 1) {
      if (m.qos === 1) r.qos1Duplicates += got - 1;
      else r.qos2Duplicates.push(`${m.key} x${got}`);
    }
  }
  for (const key of inbox.counts.keys()) {
    const m = ledger.messages.get(key);
    if (m === undefined || !wanted(m)) r.phantom.push(key);
  }
  r.phantom.push(...inbox.foreign.filter((f) => !r.phantom.includes(f)));
  for (const [publisher, seqs] of inbox.firstOrder) {
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] < seqs[i - 1]) r.outOfOrder.push(`${publisher}: ${seqs[i]} after ${seqs[i - 1]}`);
    }
  }
  return r;
}

/** Retained values per topic: what was sent and the highest value whose PUBACK was seen. */
export class RetainedLedger {
  readonly sent = new Map<string, Set<number>>();
  readonly maxAcked = new Map<string, number>();

  record(topic: string, value: number): void {
    let s = this.sent.get(topic);
    if (s === undefined) this.sent.set(topic, (s = new Set()));
    s.add(value);
  }

  acked(topic: string, value: number): void {
    if (value > (this.maxAcked.get(topic) ?? -1)) this.maxAcked.set(topic, value);
  }

  /**
   * Problems with the retained values read after a restart: per topic the value must be one
   * that was sent and at least the last acknowledged one (the broker processes a client's
   * publishes in order, so anything it stored after the acknowledged one is newer).
   */
  check(seen: ReadonlyMap<string, number>): string[] {
    const problems: string[] = [];
    for (const [topic, acked] of this.maxAcked) {
      const v = seen.get(topic);
      if (v === undefined) problems.push(`${topic}: no retained message, last acknowledged value ${acked}`);
      else if (v < acked) problems.push(`${topic}: retained value ${v} is older than the acknowledged ${acked}`);
    }
    for (const [topic, v] of seen) {
      if (!this.sent.get(topic)?.has(v)) problems.push(`${topic}: retained value ${v} was never published`);
    }
    return problems;
  }
}

/** mulberry32: a small seeded PRNG, so that a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
