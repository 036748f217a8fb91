/**
 * MQTT.js clients for the transport tests: connect without auto-reconnect (a dropped
 * connection must show, not be papered over), collect messages, and a "bystander" pair
 * that proves the broker still routes for everyone else after something hostile happened.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { withTimeout } from './transport-wait.js';

let counter = 0;

export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Connects MQTT.js (no reconnect, 5 s connect timeout) to `url`. */
export function connectClient(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return withTimeout(
    mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, clientId: uniqueId('c'), ...opts }, false),
    8_000,
    `MQTT.js connect to ${url}`,
  );
}

/** Resolves with the next message on `topic` whose payload is `payload`. */
export function nextMessage(client: MqttClient, topic: string, payload: string, timeoutMs = 5_000): Promise<{ topic: string; payload: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const onMessage = (t: string, p: Buffer) => {
        if (t === topic && p.toString() === payload) {
          client.off('message', onMessage);
          resolve({ topic: t, payload: p.toString() });
        }
      };
      client.on('message', onMessage);
    }),
    timeoutMs,
    `message ${payload} on ${topic}`,
  );
}

/**
 * Two MQTT.js clients connected for the whole test file. After each hostile act, a round
 * trip through them shows that the broker still serves the other connections.
 */
export class Bystander {
  private n = 0;

  private constructor(
    readonly sub: MqttClient,
    readonly pub: MqttClient,
    readonly topic: string,
  ) {}

  static async start(port: number, protocolVersion: 4 | 5 = 5): Promise<Bystander> {
    const url = `mqtt://127.0.0.1:${port}`;
    const sub = await connectClient(url, { protocolVersion, clientId: uniqueId('bystander-sub') });
    const pub = await connectClient(url, { protocolVersion, clientId: uniqueId('bystander-pub') });
    const topic = `bystander/${uniqueId('t')}`;
    await withTimeout(sub.subscribeAsync(topic, { qos: 1 }), 5_000, 'bystander SUBACK');
    return new Bystander(sub, pub, topic);
  }

  /** One QoS 1 publish from one bystander to the other; fails if either was dropped. */
  async roundTrip(timeoutMs = 5_000): Promise<void> {
    if (!this.sub.connected || !this.pub.connected) throw new Error('a bystander client lost its connection');
    const payload = `ping-${++this.n}`;
    const got = nextMessage(this.sub, this.topic, payload, timeoutMs);
    await withTimeout(this.pub.publishAsync(this.topic, payload, { qos: 1 }), timeoutMs, 'bystander PUBACK');
    await got;
  }

  async stop(): Promise<void> {
    await Promise.all([this.sub.endAsync(true), this.pub.endAsync(true)]);
  }
}
