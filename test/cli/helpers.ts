/**
 * Helpers for tests that run the real `holdfast` command: build dist/ once (and again
 * only when src/ changed), spawn `node bin/holdfast.js`, read its JSON log lines.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/holdfast.js');
const STAMP = join(ROOT, 'dist/.build-stamp');
const LOCK = join(ROOT, '.vitest-build-lock');

function sourceFingerprint(): string {
  const hash = createHash('sha1');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const st = statSync(path);
        hash.update(`${path}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  walk(join(ROOT, 'src'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) hash.update(readFileSync(join(ROOT, f)));
  return hash.digest('hex');
}

const isFresh = (fp: string): boolean => existsSync(STAMP) && readFileSync(STAMP, 'utf8') === fp && existsSync(join(ROOT, 'dist/app/cli.js'));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the cross-process build lock (test files run in parallel forks). */
async function withBuildLock<T>(fn: () => T, deadlineMs = 180_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(existsSync(join(LOCK, 'pid')) ? readFileSync(join(LOCK, 'pid'), 'utf8') : NaN);
      if (Number.isInteger(owner) && !pidAlive(owner)) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > until) throw new Error(`build lock ${LOCK} still held after ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 100)); // polling another process's lock: there is no event to wait for
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** `npm run build` (tsc -p tsconfig.build.json) unless dist/ is already built from this src/. */
export async function ensureBuilt(): Promise<void> {
  const fp = sourceFingerprint();
  if (isFresh(fp)) return;
  await withBuildLock(() => {
    if (isFresh(fp)) return;
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    // tsc still emits JavaScript when some file has a type error; the typecheck step of
    // `npm test` reports those. Without an emitted CLI there is nothing to test.
    if (!existsSync(join(ROOT, 'dist/app/cli.js'))) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    writeFileSync(STAMP, fp);
  });
}

export function tempDir(prefix = 'holdfast-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Environment without any HOLDFAST_* variable of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOLDFAST_')) env[k] = v;
  return { ...env, ...extra };
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs holdfast to completion (for commands that exit on their own). */
export function runHoldfast(args: string[], opts: { env?: Record<string, string>; cwd?: string; stdin?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? tempDir(), env: cleanEnv(opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`holdfast ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface Daemon {
  child: ChildProcessWithoutNullStreams;
  /** Every JSON log record written to stdout so far. */
  records: Array<Record<string, unknown>>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first record whose msg is `msg` (already seen or to come). */
  waitForMsg(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<Run>;
}

/** Starts a long-running holdfast (e.g. `start`). */
export function startDaemon(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Daemon {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? tempDir(), env: cleanEnv(opts.env) });
  const records: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters: Array<{ msg: string; resolve: (r: Record<string, unknown>) => void }> = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        records.push(rec);
        for (const w of waiters.filter((x) => x.msg === rec.msg)) w.resolve(rec);
      } catch {
        // not a log record
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
  return {
    child,
    records,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForMsg(msg, timeoutMs = 20_000) {
      const seen = records.find((r) => r.msg === msg);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)),
          timeoutMs,
        );
        const done = (r: Record<string, unknown>): void => {
          clearTimeout(timer);
          resolve(r);
        };
        waiters.push({ msg, resolve: done });
        void exited.then((r) => {
          clearTimeout(timer);
          reject(new Error(`holdfast exited (${r.code ?? r.signal}) before "${msg}"\nstdout: ${r.stdout}\nstderr: ${r.stderr}`));
        });
      });
    },
  };
}

/** Occupies a free port on 127.0.0.1; returns it and a function that frees it. */
export async function occupyPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, release: () => new Promise((r) => server.close(() => r())) };
}
