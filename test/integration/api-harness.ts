/**
 * For the admin API integration tests: holdfast in this process as `holdfast start` runs it
 * (broker, the composed platform, the probe server with the admin API mounted), memory
 * stores, ephemeral ports, an admin and a read token; and a small JSON caller.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';

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
  stop(): Promise<void>;
}

export async function startApiApp(overrides: Record<string, unknown> = {}): Promise<ApiApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-api-'));
  const app = await startHoldfast(
    {
      dataDir,
      store: { kind: 'memory' },
      listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null }, tls: { port: null } },
      http: {
        port: 0,
        tokens: [
          { token: ADMIN_TOKEN, role: 'admin' },
          { token: READ_TOKEN, role: 'read' },
        ],
      },
      observability: { sys: { intervalS: 0 } },
      ...overrides,
    },
    { logger: silentLogger() },
  );
  const base = `http://127.0.0.1:${app.addresses.http}`;
  return {
    app,
    base,
    mqttPort: app.addresses.mqtt!,
    mqttUrl: `mqtt://127.0.0.1:${app.addresses.mqtt}`,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (o.raw !== undefined || o.body !== undefined) {
        body = o.raw ?? JSON.stringify(o.body);
        headers['content-type'] = o.type ?? 'application/json';
      }
      const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Body), headers: res.headers };
    },
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The body parsed with the documented output schema: the OpenAPI document describes what is sent. */
export function documented<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`response does not match its documented schema: ${JSON.stringify(r.error.issues)}\n${JSON.stringify(body)}`);
  return r.data;
}
