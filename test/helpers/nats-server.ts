/**
 * A private nats-server with JetStream for tests that stop, kill or restart NATS (the
 * shared one at 127.0.0.1:4222 must stay up for everybody else). Runs
 * `/usr/sbin/nats-server -js -p <free port> -sd <tmpdir>`; restarts reuse the port and
 * the store directory, so file streams survive. Ready = the server logged "Server is ready".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
/** The shared server of the machine (never stopped by tests). */
export const SHARED_NATS_URL = process.env.HOLDFAST_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export class PrivateNats {
  readonly storeDir: string;
  private proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {
    this.storeDir = mkdtempSync(join(tmpdir(), 'holdfast-nats-'));
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  static async start(extraArgs: string[] = []): Promise<PrivateNats> {
    const n = new PrivateNats(await freePort(), extraArgs);
    await n.restart();
    return n;
  }

  /** Starts the server (again) on the same port and store directory; resolves when it is ready. */
  async restart(timeoutMs = 15_000): Promise<void> {
    if (this.proc !== undefined) throw new Error('nats-server is already running');
    const proc = spawn(NATS_SERVER_BIN, ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir, ...this.extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`nats-server not ready after ${timeoutMs} ms:\n${log}`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        proc.stderr?.removeAllListeners('data');
        reject(err);
      };
      proc.once('exit', (code, signal) => fail(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`)));
      proc.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          proc.stderr?.removeAllListeners('data');
          proc.stderr?.resume(); // keep draining the pipe
          resolve();
        }
      });
    }).catch((err: unknown) => {
      this.proc = undefined;
      proc.kill('SIGKILL');
      throw err;
    });
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = undefined;
    });
  }

  /** Stops the server: SIGKILL (a crash) or SIGTERM (a clean stop); resolves when it has exited. */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (proc === undefined) return;
    this.proc = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
