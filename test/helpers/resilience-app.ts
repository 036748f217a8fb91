/**
 * The whole app in this process (startHoldfast: broker, listeners, HTTP server with /readyz,
 * /metrics and /api/bans) for the issue 6 tests that go through the operator's side.
 * Memory store, ephemeral ports, silent logs, two bearer tokens (admin and read).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';

export interface ResilienceApp extends RunningHoldfast {
  mqttPort: number;
  /** http://127.0.0.1:PORT */
  base: string;
  /** fetch against the HTTP server, with `Authorization: Bearer <token>` when a token is given. */
  http(path: string, opts?: { method?: string; token?: string }): Promise<{ status: number; body: string; json: () => unknown }>;
  close(): Promise<void>;
}

export async function startResilienceApp(overrides: Record<string, unknown> = {}): Promise<ResilienceApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-resilience-'));
  let app: RunningHoldfast;
  try {
    app = await startHoldfast(
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
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const base = `http://127.0.0.1:${app.addresses.http}`;
  return Object.assign(app, {
    mqttPort: app.addresses.mqtt!,
    base,
    async http(path: string, opts: { method?: string; token?: string } = {}) {
      const res = await fetch(base + path, {
        method: opts.method ?? 'GET',
        headers: opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {},
      });
      const body = await res.text();
      return { status: res.status, body, json: () => JSON.parse(body) as unknown };
    },
    async close() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
