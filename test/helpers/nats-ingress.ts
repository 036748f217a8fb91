/**
 * Helpers for the JetStream ingress tests: waiting for an ingress event with a deadline,
 * an MQTT subscriber that records what it receives, and publishing to JetStream.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { headers as natsHeaders, type NatsConnection, type PubAck } from 'nats';
import type { IngressEvent, IngressEventName, JetStreamIngress } from '../../src/platform/ingress/index.js';

/** Resolves with the first `event` matching `match`; rejects after `timeoutMs`. */
export function nextEvent(
  ingress: JetStreamIngress,
  event: IngressEventName,
  match: (e: IngressEvent) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<IngressEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no '${event}' event within ${timeoutMs} ms; status ${JSON.stringify(ingress.status())}`));
    }, timeoutMs);
    const off = ingress.on(event, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Collects `count` events of a kind (in order); rejects after `timeoutMs`. */
export function collectEvents(ingress: JetStreamIngress, event: IngressEventName, count: number, timeoutMs = 10_000): Promise<IngressEvent[]> {
  const seen: IngressEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${seen.length}/${count} '${event}' events within ${timeoutMs} ms; status ${JSON.stringify(ingress.status())}`));
    }, timeoutMs);
    const off = ingress.on(event, (e) => {
      seen.push(e);
      if (seen.length < count) return;
      clearTimeout(timer);
      off();
      resolve(seen);
    });
  });
}

export class Subscriber {
  readonly messages: IPublishPacket[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (_t, _p, packet) => this.messages.push(packet));
  }

  static async connect(port: number, filter: string, clientId = `sub-${Math.random().toString(16).slice(2)}`): Promise<Subscriber> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
    const s = new Subscriber(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return s;
  }

  payloads(): string[] {
    return this.messages.map((m) => m.payload.toString('utf8'));
  }

  async waitFor(count: number, timeoutMs = 10_000): Promise<IPublishPacket[]> {
    const until = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > until) throw new Error(`${this.messages.length}/${count} MQTT messages within ${timeoutMs} ms: ${JSON.stringify(this.payloads())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.messages;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Publishes to JetStream (acked) with optional Nats-Msg-Id and headers. */
export async function jsPublish(nc: NatsConnection, subject: string, body: string, opts: { msgId?: string; headers?: Record<string, string> } = {}): Promise<PubAck> {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
  return nc.jetstream().publish(subject, Buffer.from(body), { ...(opts.msgId !== undefined ? { msgID: opts.msgId } : {}), headers: h });
}
