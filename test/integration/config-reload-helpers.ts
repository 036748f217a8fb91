/**
 * For the hot-reload tests (issue 8): holdfast in this process started from a YAML file in a
 * temp dir (ephemeral ports, memory store), a logger whose records can be awaited, a JSON
 * caller for /api/config, and file rewrites the way editors do them (rename over the file).
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export const ADMIN = 'reload-test-admin-token-0123456789';
export const READ = 'reload-test-read-token-0123456789';

// JSON bodies, read field by field in the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = any;

export type Rec = Record<string, unknown>;

/** A logger writing JSON records into memory; waitFor resolves on the first matching record (seen or to come). */
export function recordingLogger(level = 'info'): { logger: Logger; records: Rec[]; waitFor(pred: (r: Rec) => boolean, timeoutMs?: number, what?: string): Promise<Rec> } {
  const records: Rec[] = [];
  const waiters: Array<{ pred: (r: Rec) => boolean; resolve: (r: Rec) => void }> = [];
  const logger = createLogger({
    level,
    pretty: false,
    destination: {
      write(line: string) {
        const rec = JSON.parse(line) as Rec;
        records.push(rec);
        for (const w of waiters.filter((x) => x.pred(rec))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      },
    },
  });
  return {
    logger,
    records,
    waitFor(pred, timeoutMs = 10_000, what = 'a log record') {
      const seen = records.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; records: ${JSON.stringify(records.map((r) => r.msg))}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
  };
}

/** The settings every test config has: loopback, ephemeral ports, memory store, tokens, no watch, no load shedding. */
export function baseConfig(dataDir: string, extra: Rec = {}): Rec {
  const base: Rec = {
    dataDir,
    store: { kind: 'memory' },
    listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null }, tls: { port: null } },
    http: { port: 0, tokens: [{ token: ADMIN, role: 'admin' }, { token: READ, role: 'read' }] },
    observability: { sys: { intervalS: 0 } },
    config: { watch: false },
    // Not what these tests are about: on a busy box the event-loop delay at start must not refuse CONNECTs (0x89).
    overload: { enabled: false },
  };
  return { ...base, ...extra };
}

export interface ReloadApp {
  app: RunningHoldfast;
  dir: string;
  file: string;
  base: string;
  mqttUrl: string;
  log: ReturnType<typeof recordingLogger>;
  /** Rewrites the config file as editors do: a new file renamed over the old one. */
  write(config: Rec | string): void;
  call(method: string, path: string, token?: string | null): Promise<{ status: number; body: Body }>;
  stop(): Promise<void>;
}

export async function startFromFile(config: (dir: string) => Rec, opts: { level?: string } = {}): Promise<ReloadApp> {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-reload-'));
  const file = join(dir, 'holdfast.yaml');
  let n = 0;
  const write = (c: Rec | string): void => {
    const tmp = join(dir, `.holdfast.yaml.${++n}.tmp`);
    writeFileSync(tmp, typeof c === 'string' ? c : stringify(c));
    renameSync(tmp, file);
  };
  write(config(dir));
  const log = recordingLogger(opts.level);
  const app = await startHoldfast({}, { configFile: file, logger: log.logger, cwd: dir });
  const base = `http://127.0.0.1:${app.addresses.http}`;
  return {
    app,
    dir,
    file,
    base,
    mqttUrl: `mqtt://127.0.0.1:${app.addresses.mqtt}`,
    log,
    write,
    async call(method, path, token = ADMIN) {
      const res = await fetch(`${base}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Body) };
    },
    async stop() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
