/**
 * Helpers for the publish / subscribe / retained / shared / flow-control / ACL conformance
 * tests: small wrappers over RawClient (SUBSCRIBE, PUBLISH with its acknowledgements, a
 * PINGREQ barrier), over MQTT.js (message collectors) and over the mosquitto CLI tools.
 * Every wait has a deadline; nothing here sleeps.
 */
import { spawn } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type {
  AckPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  UnsubackPacket,
} from '../../src/codec/mqtt/index.js';
import { RawClient } from './raw-client.js';

export type ConnectFields = Partial<Extract<Packet, { type: 1 }>>;

const nextIds = new WeakMap<RawClient, number>();

/** A fresh packet identifier for this client (1..65535, wrapping). */
export function nextId(c: RawClient): number {
  const id = nextIds.get(c) ?? 1;
  nextIds.set(c, id >= 65535 ? 1 : id + 1);
  return id;
}

let seq = 0;
/** A client id unique within the test run. */
export function uid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Connects a raw client; v5 by default. */
export function rawConnect(port: number, version: ProtocolVersion = 5, fields: ConnectFields = {}): Promise<RawClient> {
  return RawClient.connected(port, version, { clientId: uid('raw'), ...fields });
}

export interface SubOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

/** SUBSCRIBE and wait for the SUBACK; returns its reason codes. */
export async function subscribe(
  c: RawClient,
  filters: string | (string | [string, SubOptions])[],
  opts: { qos?: QoS; subscriptionId?: number; properties?: Properties } = {},
): Promise<number[]> {
  const list = typeof filters === 'string' ? [filters] : filters;
  const packetId = nextId(c);
  const properties: Properties | undefined =
    c.version === 5
      ? { ...opts.properties, ...(opts.subscriptionId !== undefined ? { subscriptionIdentifiers: [opts.subscriptionId] } : {}) }
      : undefined;
  c.send({
    type: 8,
    packetId,
    properties,
    subscriptions: list.map((f) => {
      const [topic, o] = typeof f === 'string' ? [f, {}] : f;
      return {
        topic,
        qos: o.qos ?? opts.qos ?? 1,
        noLocal: o.noLocal ?? false,
        retainAsPublished: o.retainAsPublished ?? false,
        retainHandling: o.retainHandling ?? 0,
      };
    }),
  });
  const ack = (await c.next(9)) as SubackPacket;
  if (ack.packetId !== packetId) throw new Error(`SUBACK for packet id ${ack.packetId}, expected ${packetId}`);
  return ack.reasonCodes;
}

/** UNSUBSCRIBE and wait for the UNSUBACK. */
export async function unsubscribe(c: RawClient, topics: string[]): Promise<UnsubackPacket> {
  const packetId = nextId(c);
  c.send({ type: 10, packetId, topics, properties: c.version === 5 ? {} : undefined });
  const ack = (await c.next(11)) as UnsubackPacket;
  if (ack.packetId !== packetId) throw new Error(`UNSUBACK for packet id ${ack.packetId}, expected ${packetId}`);
  return ack;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  dup?: boolean;
  packetId?: number;
  properties?: Properties;
}

/** Sends a PUBLISH without waiting; returns the packet id used (0 for QoS 0). */
export function sendPublish(c: RawClient, topic: string, payload: string | Buffer, o: PublishOptions = {}): number {
  const qos = o.qos ?? 0;
  const packetId = qos > 0 ? (o.packetId ?? nextId(c)) : 0;
  c.send({
    type: 3,
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos,
    retain: o.retain ?? false,
    dup: o.dup ?? false,
    packetId: qos > 0 ? packetId : undefined,
    properties: c.version === 5 ? o.properties : undefined,
  });
  return packetId;
}

/**
 * PUBLISH and complete its flow: QoS 0 is followed by a PINGREQ barrier (so the broker has
 * routed it when this resolves), QoS 1 waits for PUBACK, QoS 2 for PUBREC, then PUBREL /
 * PUBCOMP. Returns the PUBACK or PUBREC (undefined for QoS 0).
 */
export async function publish(
  c: RawClient,
  topic: string,
  payload: string | Buffer,
  o: PublishOptions = {},
): Promise<AckPacket | undefined> {
  const qos = o.qos ?? 0;
  const packetId = sendPublish(c, topic, payload, o);
  if (qos === 0) {
    await sync(c);
    return undefined;
  }
  const ack = (await c.next(qos === 1 ? 4 : 5)) as AckPacket;
  if (ack.packetId !== packetId) throw new Error(`ack for packet id ${ack.packetId}, expected ${packetId}`);
  if (qos === 2 && (ack.reasonCode ?? 0) < 0x80) {
    c.send({ type: 6, packetId });
    const comp = (await c.next(7)) as AckPacket;
    if (comp.packetId !== packetId) throw new Error(`PUBCOMP for ${comp.packetId}, expected ${packetId}`);
  }
  return ack;
}

/**
 * PINGREQ / PINGRESP barrier: when it resolves, everything the broker sent to this client
 * before answering the ping is in c.packets.
 */
export async function sync(c: RawClient, timeoutMs = 5000): Promise<void> {
  c.send({ type: 12 });
  await c.next(13, timeoutMs);
}

/** Removes and returns every PUBLISH received so far. */
export function takePublishes(c: RawClient): PublishPacket[] {
  const out: PublishPacket[] = [];
  for (let i = 0; i < c.packets.length; ) {
    if (c.packets[i].type === 3) out.push(c.packets.splice(i, 1)[0] as PublishPacket);
    else i++;
  }
  return out;
}

/** Waits for the next PUBLISH. */
export async function nextPublish(c: RawClient, timeoutMs = 5000): Promise<PublishPacket> {
  return (await c.next(3, timeoutMs)) as PublishPacket;
}

/** Acknowledges a PUBLISH the way a well-behaved client does (QoS 2 waits for PUBREL). */
export async function ackPublish(c: RawClient, p: PublishPacket): Promise<void> {
  if (p.qos === 1) c.send({ type: 4, packetId: p.packetId! });
  else if (p.qos === 2) {
    c.send({ type: 5, packetId: p.packetId! });
    const rel = (await c.next(6)) as AckPacket;
    if (rel.packetId !== p.packetId) throw new Error(`PUBREL for ${rel.packetId}, expected ${p.packetId}`);
    c.send({ type: 7, packetId: p.packetId! });
  }
}

/** Receives `n` PUBLISH packets, acknowledging each one (QoS 1 only: PUBACK). */
export async function receiveAcking(c: RawClient, n: number, timeoutMs = 10_000): Promise<PublishPacket[]> {
  const deadline = Date.now() + timeoutMs;
  const out: PublishPacket[] = [];
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`received ${out.length} of ${n} PUBLISH packets before the deadline`);
    const p = await nextPublish(c, left);
    out.push(p);
    if (p.qos === 1) c.send({ type: 4, packetId: p.packetId! });
    else if (p.qos === 2) c.send({ type: 5, packetId: p.packetId! });
  }
  return out;
}

/** Expects a server DISCONNECT (v5) with `reasonCode`, then the connection closing. */
export async function expectDisconnect(c: RawClient, reasonCode: number, timeoutMs = 5000): Promise<DisconnectPacket> {
  const d = (await c.next(14, timeoutMs)) as DisconnectPacket;
  await c.waitClosed(timeoutMs);
  if ((d.reasonCode ?? 0) !== reasonCode) {
    throw new Error(`DISCONNECT 0x${(d.reasonCode ?? 0).toString(16)} (${d.properties?.reasonString ?? ''}), expected 0x${reasonCode.toString(16)}`);
  }
  return d;
}

/** The payloads of PUBLISH packets as strings. */
export function payloads(ps: PublishPacket[]): string[] {
  return ps.map((p) => p.payload.toString());
}

// ---- MQTT.js --------------------------------------------------------------------------------

export function mqttJs(port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    clientId: uid('js'),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
}

export interface Received {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
  properties: Record<string, unknown> | undefined;
}

/** Collects messages of an MQTT.js client; `waitFor(n)` resolves once n have arrived. */
export function collector(client: MqttClient) {
  const got: Received[] = [];
  let waiters: (() => void)[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      properties: packet.properties as Record<string, unknown> | undefined,
    });
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  });
  return {
    got,
    waitFor(n: number, timeoutMs = 5000): Promise<Received[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages before the deadline`)), timeoutMs);
        const check = () => {
          if (got.length >= n) {
            clearTimeout(timer);
            resolve(got.slice(0, n));
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

// ---- mosquitto CLI ------------------------------------------------------------------------

export interface CliRun {
  /** Resolves with the exit code and output once the process exits (or is killed at the deadline). */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Runs a command with a hard deadline; never a shell. */
export function runCli(cmd: string, args: string[], timeoutMs = 10_000): CliRun {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let exited = false;
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    done,
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/** Polls `cond` (every few ms) until it holds, with a deadline; for state no event announces. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
