/**
 * SinkMessages as the bridge engine hands them to a sink (used by the NATS and the
 * PostgreSQL sink tests): stable idempotency keys `${brokerId}-${messageId}`, several
 * devices, JSON bodies by default.
 */
import type { QoS } from '../../src/codec/mqtt/packets.js';
import type { SinkMessage } from '../../src/ports/sink.js';

export interface MessageSpec {
  topic?: string;
  body?: Buffer;
  publisherId?: string;
  qos?: QoS;
}

export function sinkMessages(brokerId: string, firstId: number, count: number, spec: (i: number) => MessageSpec = () => ({})): SinkMessage[] {
  const out: SinkMessage[] = [];
  for (let k = 0; k < count; k++) {
    const messageId = firstId + k;
    const device = `dev-${k % 4}`;
    const s = spec(k);
    out.push({
      messageId,
      idempotencyKey: `${brokerId}-${messageId}`,
      topic: s.topic ?? `devices/${device}/telemetry`,
      body: s.body ?? Buffer.from(JSON.stringify({ n: messageId, device })),
      qos: s.qos ?? 1,
      publisherId: s.publisherId ?? device,
      properties: undefined,
      createdAt: 1_700_000_000_000 + messageId,
      attempt: 1,
    });
  }
  return out;
}

/** A signal that aborts after `ms` (a batch deadline). */
export function deadline(ms = 10_000): AbortSignal {
  return AbortSignal.timeout(ms);
}
