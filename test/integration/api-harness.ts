/**
 * For the admin API integration tests: holdfast in this process as `holdfast start` runs it
 * (broker, the composed platform, the probe server with the admin API mounted), memory
 * stores, ephemeral ports, an admin and a read token; a small JSON caller; and devices as
 * MQTT.js clients that connect with the secret the API gave them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { z } from 'zod';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';

export const ADMIN_TOKEN = 'api-test-admin-token-0123456789';
export const READ_TOKEN = 'api-test-read-token-0123456789';

// JSON bodies of many shapes, read field by field in the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = any;

export interface CallResult {
  status: number;
  body: Body;
  headers: Headers;
}

export interface ApiApp {
  app: RunningHoldfast;
  base: string;
  mqttPort: number;
  mqttUrl: string;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string; type?: string }): Promise<CallResult>;
  /** Stops holdfast and starts it again on the same data dir and the same MQTT and HTTP ports (use a sqlite store). */
  restart(between?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export async function startApiApp(overrides: Record<string, unknown> = {}): Promise<ApiApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-api-'));
  const start = (ports: { mqtt: number; http: number }) =>
    startHoldfast(
      {
        dataDir,
        store: { kind: 'memory' },
        listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: ports.mqtt }, ws: { port: null }, tls: { port: null } },
        http: {
          port: ports.http,
          tokens: [
            { token: ADMIN_TOKEN, role: 'admin' },
            { token: READ_TOKEN, role: 'read' },
          ],
        },
        observability: { sys: { intervalS: 0 } },
        // As test/helpers/broker.ts: on a loaded machine, overload shedding (0x89, 3.1.1: 3) and
        // flapping bans would refuse the tests' reconnects; test/chaos covers them.
        overload: { enabled: false },
        flapping: { enabled: false },
        ...overrides,
      },
      { logger: silentLogger() },
    );
  const self: ApiApp = {
    app: await start({ mqtt: 0, http: 0 }),
    base: '',
    mqttPort: 0,
    mqttUrl: '',
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (o.raw !== undefined || o.body !== undefined) {
        body = o.raw ?? JSON.stringify(o.body);
        headers['content-type'] = o.type ?? 'application/json';
      }
      const res = await fetch(`${self.base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Body), headers: res.headers };
    },
    async restart(between) {
      const ports = { mqtt: self.app.addresses.mqtt!, http: self.app.addresses.http! };
      await self.app.stop();
      await between?.();
      self.app = await start(ports);
    },
    async stop() {
      await self.app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  self.base = `http://127.0.0.1:${self.app.addresses.http}`;
  self.mqttPort = self.app.addresses.mqtt!;
  self.mqttUrl = `mqtt://127.0.0.1:${self.mqttPort}`;
  return self;
}

/** The body parsed with the documented output schema: the OpenAPI document describes what is sent. */
export function documented<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`response does not match its documented schema: ${JSON.stringify(r.error.issues)}\n${JSON.stringify(body)}`);
  return r.data;
}

export interface SimDevice {
  id: string;
  client: MqttClient;
  /** Every PUBLISH received, in order. */
  messages: IPublishPacket[];
  /** Reason code of a server DISCONNECT (v5), if one came. */
  disconnectReason: number | undefined;
  closed: boolean;
  /** Waits for at least `count` messages on `$holdfast/devices/{id}/{suffix}`; returns them. */
  waitFor(suffix: string, count?: number, timeoutMs?: number): Promise<IPublishPacket[]>;
  publishJson(suffix: string, body: unknown, opts?: IClientPublishOptions): Promise<void>;
  end(): Promise<void>;
}

export type DeviceConnect = { ok: true; device: SimDevice } | { ok: false; code: number | undefined; message: string };

/**
 * A device as MQTT.js (v5 unless told): client id = device id, password = its secret, no
 * automatic reconnect; subscribed to `$holdfast/devices/{id}/#` once connected.
 */
export async function connectDevice(mqttUrl: string, id: string, secret: string, o: { version?: 4 | 5; subscribe?: boolean } = {}): Promise<DeviceConnect> {
  const client = mqtt.connect(mqttUrl, { protocolVersion: o.version ?? 5, clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 5_000 });
  const dev: SimDevice = {
    id,
    client,
    messages: [],
    disconnectReason: undefined,
    closed: false,
    async waitFor(suffix, count = 1, timeoutMs = 10_000) {
      const topic = `$holdfast/devices/${id}/${suffix}`;
      const on = (): IPublishPacket[] => dev.messages.filter((m) => m.topic === topic);
      await waitUntil(() => on().length >= count, timeoutMs, `${count} message(s) on ${topic}`, () => dev.messages.map((m) => m.topic));
      return on();
    },
    async publishJson(suffix, body, opts = {}) {
      await client.publishAsync(`$holdfast/devices/${id}/${suffix}`, JSON.stringify(body), { qos: 1, ...opts });
    },
    async end() {
      await client.endAsync(true);
    },
  };
  client.on('message', (_t, _p, packet) => dev.messages.push(packet));
  client.on('disconnect', (packet) => (dev.disconnectReason = packet.reasonCode ?? 0));
  client.on('close', () => (dev.closed = true));
  const outcome = await withTimeout(
    new Promise<DeviceConnect>((resolve) => {
      client.once('connect', () => resolve({ ok: true, device: dev }));
      client.once('error', (err: Error & { code?: number }) => {
        client.end(true);
        resolve({ ok: false, code: typeof err.code === 'number' ? err.code : undefined, message: err.message });
      });
    }),
    10_000,
    `CONNACK for ${id}`,
  );
  if (outcome.ok && o.subscribe !== false) await client.subscribeAsync(`$holdfast/devices/${id}/#`, { qos: 1 });
  return outcome;
}

/** Connects or throws with the refusal. */
export async function deviceOnline(mqttUrl: string, id: string, secret: string, o: { version?: 4 | 5 } = {}): Promise<SimDevice> {
  const r = await connectDevice(mqttUrl, id, secret, o);
  if (!r.ok) throw new Error(`device ${id} refused: code ${r.code} ${r.message}`);
  return r.device;
}

/** The command id and name of a received command (v5: correlation data + user property; 3.1.1: envelope). */
export function commandOf(p: IPublishPacket): { id: string; name: string; payload: unknown; correlationData: Buffer | undefined } {
  const cd = p.properties?.correlationData;
  const body = JSON.parse(p.payload.toString('utf8')) as Body;
  if (cd !== undefined) {
    const up = p.properties?.userProperties as Record<string, string> | undefined;
    return { id: Buffer.from(cd).toString('utf8'), name: String(up?.command), payload: body, correlationData: Buffer.from(cd) };
  }
  return { id: String(body.id), name: String(body.name), payload: body.payload, correlationData: undefined };
}

/** Answers a received command on its response topic, in the form of the device's protocol. */
export async function answer(dev: SimDevice, p: IPublishPacket, reply: { ok: boolean; result?: unknown; error?: string }): Promise<void> {
  const c = commandOf(p);
  if (c.correlationData !== undefined) await dev.publishJson('commands/response', reply, { properties: { correlationData: c.correlationData } });
  else await dev.publishJson('commands/response', { id: c.id, ...reply });
}

/** Polls `get` (e.g. an API read) until `ok` holds, at most `timeoutMs`; returns the last value. */
export async function eventually<T>(get: () => Promise<T>, ok: (t: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() >= deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
