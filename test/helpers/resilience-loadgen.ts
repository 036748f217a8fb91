/**
 * The C load generator (bench/loadgen/loadgen.c) in storm mode, for the admission scenario
 * tests (issue 6). It runs as a child process, so the clients' work does not run on the
 * broker's event loop (the broker runs in the test process and its event-loop lag is what
 * the tests measure). Built with cc when the binary is missing or older than the source.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../bench/loadgen/loadgen.c', import.meta.url));
const BIN = fileURLToPath(new URL('../../bench/build/loadgen', import.meta.url));

/** Path of a load generator built from the current source (built here if needed). */
export function ensureLoadgen(): string {
  const stale = !existsSync(BIN) || statSync(BIN).mtimeMs < statSync(SRC).mtimeMs;
  if (stale) {
    mkdirSync(fileURLToPath(new URL('../../bench/build/', import.meta.url)), { recursive: true });
    // Built beside and renamed, so that a concurrent bench run never executes half a file.
    const tmp = `${BIN}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-std=c11', '-Wall', '-o', tmp, SRC], { stdio: 'pipe' });
    renameSync(tmp, BIN);
  }
  return BIN;
}

export interface StormOptions {
  port: number;
  connections: number;
  mqtt: 4 | 5;
  /** A refused client retries after a random delay in [retryMs, retryMaxMs]; 0 = no retry. */
  retryMs?: number;
  retryMaxMs?: number;
  /** No attempt starts after this many seconds (0 = until the timeout). */
  stormS?: number;
  timeoutS?: number;
  timelineMs?: number;
}

/** The JSON line of `loadgen storm` (see mode_storm in loadgen.c). */
export interface StormResult {
  connections: number;
  mqtt: number;
  ok: number;
  failed: number;
  attempts: number;
  /** Sockets that closed (or timed out) without any CONNACK: refused without being told why. */
  no_connack: number;
  /** Clients still waiting to retry when the storm window closed (each was refused with a CONNACK). */
  gave_up: number;
  all_done_ms: number;
  admitted_first_ms: number;
  admitted_last_ms: number;
  admitted_connect_samples: number;
  admitted_connect_p50_ms?: number;
  admitted_connect_p99_ms?: number;
  admitted_connect_max_ms?: number;
  refused_connect_samples: number;
  refused_connect_p99_ms?: number;
  /** CONNACK codes received, over every attempt: code (decimal) -> count. */
  connack_codes: Record<string, number>;
  timeline_ms: number;
  /** Admitted (CONNACK 0) and refused CONNACKs per timeline bucket since the storm began. */
  timeline_ok: number[];
  timeline_refused: number[];
  failures: Record<string, number>;
  loadgen_cpu_util: number;
  error?: string;
}

export function runStorm(o: StormOptions): Promise<StormResult> {
  const bin = ensureLoadgen();
  const args = [
    'storm',
    '--host', '127.0.0.1',
    '--port', String(o.port),
    '--connections', String(o.connections),
    '--mqtt', String(o.mqtt),
    '--retry-ms', String(o.retryMs ?? 0),
    '--retry-max-ms', String(o.retryMaxMs ?? o.retryMs ?? 0),
    '--storm-s', String(o.stormS ?? 0),
    '--timeout-s', String(o.timeoutS ?? 20),
    '--timeline-ms', String(o.timelineMs ?? 100),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return reject(new Error(`loadgen storm gave no result (exit ${code ?? signal}): ${err.trim()}`));
      const r = JSON.parse(line) as StormResult;
      if (r.error !== undefined) return reject(new Error(`loadgen storm: ${r.error} ${err.trim()}`));
      resolve(r);
    });
  });
}
