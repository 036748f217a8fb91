/**
 * MQTT.js clients for the crash tests: publishers that record exactly which publishes the
 * broker acknowledged (publishAsync resolves on PUBACK / PUBCOMP; PUBREC is read off the
 * wire with the 'packetreceive' event) and stop when the connection goes, and subscribers
 * that put every message into an Inbox.
 */
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { withTimeout } from './transport-wait.js';
import type { CrashQos, Inbox, Ledger, RetainedLedger } from './crash-ledger.js';

export type ProtocolVersion = 4 | 5;

const BASE: IClientOptions = { reconnectPeriod: 0, connectTimeout: 5_000, keepalive: 0 };

/** Closes a client at once (pending publishes are rejected with "Connection closed"). */
export function forceEnd(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(true, () => resolve()));
}

export interface PublisherSpec {
  url: string;
  clientId: string;
  version: ProtocolVersion;
  /** Name used in the payload keys, unique over the whole test. */
  name: string;
  topic: string;
  qos: CrashQos;
  count: number;
  /** Publishes in flight at once. */
  window: number;
  round: number;
  ledger: Ledger;
  /** Called for every acknowledged publish (after the ledger was updated). */
  onAck?: () => void;
}

export interface PublisherResult {
  name: string;
  sent: number;
  acked: number;
  /** Whether the connection went away before every publish was acknowledged. */
  cutOff: boolean;
}

/**
 * Publishes `count` messages (payload = key `name:seq`, seq from 0) with at most `window`
 * in flight. When the connection goes the publisher just stops: nothing is resent, the
 * publishes that were in flight stay unacknowledged (unknown fate).
 */
export async function runPublisher(spec: PublisherSpec): Promise<PublisherResult> {
  const client = await mqtt.connectAsync(spec.url, { ...BASE, clientId: spec.clientId, protocolVersion: spec.version, clean: true });
  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  client.on('error', () => undefined); // the broker being killed is the point; 'close' follows
  const byPacketId = new Map<number, string>();
  if (spec.qos === 2) {
    client.on('packetsend', (p: Packet) => {
      if (p.cmd === 'publish' && p.qos === 2 && p.messageId !== undefined) byPacketId.set(p.messageId, String(p.payload));
    });
    client.on('packetreceive', (p: Packet) => {
      if (p.cmd !== 'pubrec' || p.messageId === undefined) return;
      const key = byPacketId.get(p.messageId);
      if (key !== undefined && (p.reasonCode ?? 0) < 0x80) spec.ledger.pubrec(key);
    });
  }
  let next = 0;
  let acked = 0;
  const worker = async (): Promise<void> => {
    while (!closed && next < spec.count) {
      const seq = next++;
      const key = spec.ledger.sent(spec.name, seq, spec.qos, spec.round);
      try {
        await client.publishAsync(spec.topic, key, { qos: spec.qos });
        spec.ledger.acked(key);
        acked++;
        spec.onAck?.();
      } catch (err) {
        // Rejected while the connection was still up: the broker refused it (reason code).
        if (!closed) spec.ledger.refusals.push(`${key}: ${(err as Error).message}`);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: spec.window }, worker));
  // When the broker goes away the pending publishes never settle by themselves: end the
  // client on 'close' so that they are rejected and the workers return.
  const onClose = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await Promise.race([workers, onClose]);
  await forceEnd(client);
  await workers;
  return { name: spec.name, sent: next, acked, cutOff: acked < next };
}

export interface RetainedPublisherSpec {
  url: string;
  clientId: string;
  version: ProtocolVersion;
  topics: readonly string[];
  /** Values start here and increase by one per publish, round-robin over the topics. */
  firstValue: number;
  count: number;
  window: number;
  retained: RetainedLedger;
}

/** QoS 1 retained publishes with increasing values; returns the next unused value. */
export async function runRetainedPublisher(spec: RetainedPublisherSpec): Promise<number> {
  const client = await mqtt.connectAsync(spec.url, { ...BASE, clientId: spec.clientId, protocolVersion: spec.version, clean: true });
  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  client.on('error', () => undefined);
  let next = spec.firstValue;
  const end = spec.firstValue + spec.count;
  const worker = async (): Promise<void> => {
    while (!closed && next < end) {
      const value = next++;
      const topic = spec.topics[value % spec.topics.length];
      spec.retained.record(topic, value);
      try {
        await client.publishAsync(topic, String(value), { qos: 1, retain: true });
        spec.retained.acked(topic, value);
      } catch {
        // unknown fate
      }
    }
  };
  const workers = Promise.all(Array.from({ length: spec.window }, worker));
  const onClose = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await Promise.race([workers, onClose]);
  await forceEnd(client);
  await workers;
  return next;
}

export interface SubscriberSpec {
  url: string;
  clientId: string;
  version: ProtocolVersion;
  inbox?: Inbox;
  /** Expected delivery QoS for a topic (min of published and granted), for the inbox check. */
  expectedQos?: (topic: string) => number | undefined;
  onMessage?: (topic: string, payload: string, packet: mqtt.IPublishPacket) => void;
}

export interface Connected {
  client: MqttClient;
  sessionPresent: boolean;
}

/**
 * Connects a persistent session (3.1.1 clean session 0; v5 Clean Start 0 and a Session
 * Expiry Interval of an hour). The message handler is in place before CONNACK, so a queue
 * the broker sends right after it is not missed.
 */
export function connectPersistent(spec: SubscriberSpec): Promise<Connected> {
  const client = mqtt.connect(spec.url, {
    ...BASE,
    clientId: spec.clientId,
    protocolVersion: spec.version,
    clean: false,
    ...(spec.version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    spec.inbox?.add(text, packet.qos, spec.expectedQos?.(topic));
    spec.onMessage?.(topic, text, packet);
  });
  const connected = new Promise<Connected>((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
    client.once('close', () => reject(new Error(`${spec.clientId}: connection closed before CONNACK`)));
  });
  client.on('error', () => undefined);
  return withTimeout(connected, 10_000, `CONNACK for ${spec.clientId}`);
}

/** Reads the retained messages of `filter` with a fresh clean session: topic -> numeric value. */
export async function readRetained(url: string, filter: string, expectTopics: readonly string[]): Promise<Map<string, number>> {
  const client = await mqtt.connectAsync(url, { ...BASE, clientId: `crash-retained-reader-${process.pid}`, protocolVersion: 5, clean: true });
  const seen = new Map<string, number>();
  try {
    const all = new Promise<void>((resolve) => {
      const check = (): void => {
        if (expectTopics.every((t) => seen.has(t))) resolve();
      };
      client.on('message', (topic, payload, packet) => {
        if (packet.retain) seen.set(topic, Number(payload.toString()));
        check();
      });
      check();
    });
    await client.subscribeAsync(filter, { qos: 1 });
    await withTimeout(all, 10_000, `retained messages on ${expectTopics.join(', ')} (seen ${[...seen.keys()].join(', ')})`);
    return seen;
  } finally {
    await forceEnd(client);
  }
}
