/**
 * Shared by the observability integration tests: an in-process holdfast on ephemeral
 * ports (no warm-up, no $SYS unless asked), and waiting for a condition with a deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHoldfast, type RunningHoldfast, type StartOptions } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';

const dirs: string[] = [];

export async function startApp(overrides: Record<string, unknown> = {}, options: StartOptions = {}): Promise<RunningHoldfast & { base: string; mqttUrl: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-obs-'));
  dirs.push(dataDir);
  const app = await startHoldfast(
    {
      dataDir,
      listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null }, tls: { port: null } },
      http: { port: 0 },
      ...overrides,
      observability: { sys: { intervalS: 0 }, ...(overrides.observability as object | undefined) },
    },
    { logger: silentLogger(), ...options },
  );
  return Object.assign(app, { base: `http://127.0.0.1:${app.addresses.http}`, mqttUrl: `mqtt://127.0.0.1:${app.addresses.mqtt}` });
}

export function removeDataDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Polls `probe` until it returns a value that is not undefined / false, or fails after `ms`. */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
