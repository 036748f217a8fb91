/**
 * Shared fixtures for the connection / session / will / auth / keepalive conformance tests:
 * brokers and clients that are always cleaned up, CONNECT helpers, assertions on CONNACK and
 * server DISCONNECT, and deterministic "nothing arrived" probes (PINGREQ -> PINGRESP ordering).
 */
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { afterEach, expect } from 'vitest';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket, QoS } from '../../src/codec/mqtt/index.js';
import type { BrokerConfig } from '../../src/broker/config.js';
import type { Hooks } from '../../src/broker/hooks.js';
import type { Store } from '../../src/ports/store.js';
import { startTestBroker, type DeepPartial, type TestBroker } from './broker.js';
import { RawClient } from './raw-client.js';

export type ConnackOf = Extract<Packet, { type: 2 }>;
export type DisconnectOf = Extract<Packet, { type: 14 }>;
export type AuthOf = Extract<Packet, { type: 15 }>;

let idCounter = 0;
/** A client id unique within the test process (<= 23 chars, MQTT-3.1.3-5 alphabet). */
export function uid(prefix = 'c'): string {
  idCounter++;
  return `${prefix}${idCounter}${Math.random().toString(36).slice(2, 8)}`.slice(0, 23);
}

/** Polls `pred` until true or the deadline passes (for broker counters and socket states). */
export async function waitUntil(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class Harness {
  private readonly brokers: TestBroker[] = [];
  private readonly raws: RawClient[] = [];
  private readonly clients: MqttClient[] = [];

  async broker(opts: { config?: DeepPartial<BrokerConfig>; hooks?: Hooks; store?: Store } = {}): Promise<TestBroker> {
    const tb = await startTestBroker(opts);
    this.brokers.push(tb);
    return tb;
  }

  async open(port: number, version: ProtocolVersion = 5): Promise<RawClient> {
    const c = await RawClient.open(port, version);
    this.raws.push(c);
    return c;
  }

  /** Opens a socket, sends CONNECT (defaults filled in) and returns the CONNACK, whatever its code. */
  async connect(
    port: number,
    version: ProtocolVersion,
    fields: Partial<ConnectPacket> = {},
  ): Promise<{ c: RawClient; ack: ConnackOf }> {
    const c = await this.open(port, version);
    c.send(connectPacket(version, fields));
    const ack = (await nextPacket(c, 2)) as ConnackOf;
    return { c, ack };
  }

  /** As connect() but the CONNACK must be a success. */
  async connected(port: number, version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): Promise<RawClient> {
    const { c, ack } = await this.connect(port, version, fields);
    expect(ack.reasonCode, `CONNACK ${JSON.stringify(ack)}`).toBe(0);
    return c;
  }

  async mqtt(port: number, opts: IClientOptions): Promise<MqttClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    this.clients.push(client);
    return client;
  }

  /** An MQTT.js client whose connection attempt may fail; resolves with the CONNACK or the error. */
  mqttAttempt(port: number, opts: IClientOptions): Promise<{ client: MqttClient; connack?: IConnackPacket; error?: Error & { code?: number } }> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    this.clients.push(client);
    return new Promise((resolve) => {
      client.once('connect', (connack) => resolve({ client, connack }));
      client.once('error', (error: Error & { code?: number }) => resolve({ client, error }));
    });
  }

  /** An MQTT.js client that is not connected yet (attach listeners, then call client.connect()). */
  mqttManual(port: number, opts: IClientOptions): MqttClient {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts, manualConnect: true });
    this.clients.push(client);
    return client;
  }

  async cleanup(): Promise<void> {
    for (const c of this.raws.splice(0)) c.close();
    await Promise.all(this.clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    for (const tb of this.brokers.splice(0)) {
      // Close the broker's connections first: the listeners' close waits for every socket.
      await tb.broker.close();
      await tb.stop();
    }
  }
}

/** One harness per test file; everything it created is closed after each test. */
export function useHarness(): Harness {
  const h = new Harness();
  afterEach(async () => {
    await h.cleanup();
  });
  return h;
}

export function connectPacket(version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    type: 1,
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: true,
    keepalive: 60,
    clientId: uid(),
    ...fields,
  };
}

/**
 * The next packet (of `type`, skipping others), removed from the client's buffer. Like
 * RawClient.next, but it rejects (instead of throwing from a socket event) when the connection
 * closes first, and reports a packet the client's decoder refused.
 */
export function nextPacket(c: RawClient, type?: number, timeoutMs = 5000): Promise<Packet> {
  return new Promise<Packet>((resolve, reject) => {
    const what = `packet ${type ?? 'any'}`;
    const fail = (why: string) => {
      const decode = c.decodeError !== undefined ? `; the client could not decode what the server sent: ${c.decodeError.message}` : '';
      reject(new Error(`${why} while waiting for ${what}; got ${JSON.stringify(c.packets.map((p) => p.type))}${decode}`));
    };
    const take = (): boolean => {
      const i = type === undefined ? (c.packets.length > 0 ? 0 : -1) : c.packets.findIndex((p) => p.type === type);
      if (i >= 0) {
        resolve(c.packets.splice(i, 1)[0]);
        return true;
      }
      if (c.decodeError !== undefined) {
        fail('decode error');
        return true;
      }
      if (c.closed) {
        fail('connection closed');
        return true;
      }
      return false;
    };
    if (take()) return;
    const onEvent = () => {
      if (take()) done();
    };
    const timer = setTimeout(() => {
      done();
      fail(`timeout after ${timeoutMs} ms`);
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      c.socket.off('data', onEvent);
      c.socket.off('close', onEvent);
    };
    // RawClient's own listeners were added first: packets are decoded when these run.
    c.socket.on('data', onEvent);
    c.socket.on('close', onEvent);
  });
}

export function expectConnack(p: Packet, reasonCode: number, sessionPresent = false): void {
  expect(p.type).toBe(2);
  const ack = p as ConnackOf;
  expect(ack.reasonCode, `CONNACK reason code 0x${ack.reasonCode.toString(16)}`).toBe(reasonCode);
  expect(ack.sessionPresent).toBe(sessionPresent);
}

/** A refusing v5 CONNACK carries a Reason String (MQTT5 3.2.2.3.9); the broker always sends one. */
export function expectReasonString(p: Packet): void {
  const rs = (p as { properties?: { reasonString?: unknown } }).properties?.reasonString;
  expect(typeof rs, `reasonString in ${JSON.stringify(p)}`).toBe('string');
  expect((rs as string).length).toBeGreaterThan(0);
}

/**
 * A server DISCONNECT (MQTT5 3.14): the reason code, a non-empty Reason String, never a Session
 * Expiry Interval (MQTT-3.14.2-2).
 */
export function expectServerDisconnect(p: Packet, reasonCode: number): void {
  expect(p.type, `expected DISCONNECT, got ${JSON.stringify(p)}`).toBe(14);
  const d = p as DisconnectOf;
  expect(d.reasonCode ?? 0, `DISCONNECT reason code 0x${(d.reasonCode ?? 0).toString(16)}`).toBe(reasonCode);
  expectReasonString(d);
  expect(d.properties?.sessionExpiryInterval).toBeUndefined();
}

/** Reads the next packet and expects the server DISCONNECT, then the close (MQTT-3.14.4-2). */
export async function expectDisconnectThenClose(c: RawClient, reasonCode: number, timeoutMs = 5000): Promise<void> {
  const p = await nextPacket(c, undefined, timeoutMs);
  expectServerDisconnect(p, reasonCode);
  await c.waitClosed(timeoutMs);
}

/**
 * Proves that nothing of `type` is pending for `c`: the server answers a PINGREQ in order,
 * so anything sent before the PINGRESP has arrived when the PINGRESP does.
 */
export async function expectNothing(c: RawClient, type = 3): Promise<void> {
  c.send({ type: 12 });
  await nextPacket(c, 13);
  expect(c.packets.filter((p) => p.type === type), `unexpected packets of type ${type}`).toEqual([]);
}

export async function subscribe(c: RawClient, filter: string, qos: QoS, packetId = 1): Promise<number[]> {
  c.send({
    type: 8,
    packetId,
    subscriptions: [{ topic: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  const ack = await nextPacket(c, 9);
  return (ack as Extract<Packet, { type: 9 }>).reasonCodes;
}

export async function nextPublish(c: RawClient, timeoutMs = 5000): Promise<PublishPacket> {
  return (await nextPacket(c, 3, timeoutMs)) as PublishPacket;
}

/** Publishes at QoS 0/1/2 and completes the acknowledgement flow. */
export async function publish(c: RawClient, topic: string, payload: string, qos: QoS = 0, packetId = 1000, retain = false): Promise<void> {
  c.send({ type: 3, topic, payload: Buffer.from(payload), qos, retain, dup: false, packetId: qos > 0 ? packetId : undefined });
  if (qos === 1) await nextPacket(c, 4);
  if (qos === 2) {
    await nextPacket(c, 5);
    c.send({ type: 6, packetId });
    await nextPacket(c, 7);
  }
}

/** Acknowledges a received PUBLISH (PUBACK, or PUBREC/PUBREL/PUBCOMP). */
export async function ack(c: RawClient, p: PublishPacket): Promise<void> {
  if (p.qos === 1) c.send({ type: 4, packetId: p.packetId! });
  if (p.qos === 2) {
    c.send({ type: 5, packetId: p.packetId! });
    await nextPacket(c, 6);
    c.send({ type: 7, packetId: p.packetId! });
  }
}

/**
 * Raw CONNECT bytes for what the encoder refuses to produce (other protocol levels, reserved
 * flag). `v5props` is the raw property block (length byte(s) included) when level is 5.
 */
export function rawConnect(opts: { name?: string; level: number; flags?: number; keepalive?: number; clientId?: string; v5props?: number[] }): Buffer {
  const name = Buffer.from(opts.name ?? 'MQTT');
  const id = Buffer.from(opts.clientId ?? uid('raw'));
  const body = Buffer.concat([
    Buffer.from([name.length >> 8, name.length & 0xff]),
    name,
    Buffer.from([opts.level, opts.flags ?? 0x02, (opts.keepalive ?? 60) >> 8, (opts.keepalive ?? 60) & 0xff]),
    Buffer.from(opts.v5props ?? []),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  if (body.length > 127) throw new Error('rawConnect: keep it short');
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Collects MQTT.js messages and lets a test wait for the n-th one. */
export class MessageLog {
  readonly messages: { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }[] = [];
  private waiters: (() => void)[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async waitFor(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout: ${this.messages.length}/${n} messages: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
