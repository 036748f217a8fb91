import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleShutdownSignals, type SignalSource } from '../../../src/app/signals.js';
import { silentLogger } from '../../../src/observability/logger.js';

function setup(stop: () => Promise<void>, timeoutMs = 5_000) {
  const source = new EventEmitter() as EventEmitter & SignalSource;
  const codes: number[] = [];
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const remove = handleShutdownSignals({
    source,
    stop,
    timeoutMs,
    logger: silentLogger(),
    exit: (code) => {
      codes.push(code);
      resolveExit(code);
    },
  });
  return { source, codes, exited, remove };
}

describe('SIGTERM / SIGINT', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: graceful stop, then exit 0', async (signal) => {
    let stopped = 0;
    const t = setup(async () => {
      stopped++;
    });
    t.source.emit(signal, signal);
    expect(await t.exited).toBe(0);
    expect(stopped).toBe(1);
  });

  it('a second signal during the stop exits at once with 1', async () => {
    let finish!: () => void;
    const t = setup(() => new Promise<void>((r) => (finish = r)));
    t.source.emit('SIGTERM', 'SIGTERM');
    t.source.emit('SIGINT', 'SIGINT');
    expect(await t.exited).toBe(1);
    finish();
    await Promise.resolve();
    expect(t.codes).toEqual([1]); // the late end of the stop does not exit a second time
  });

  it('issue 8: with force, a second signal cuts the drain and the stop ends cleanly (exit 0); a third exits 1 at once', async () => {
    let finish!: () => void;
    let forced = 0;
    const source = new EventEmitter() as EventEmitter & SignalSource;
    const codes: number[] = [];
    handleShutdownSignals({
      source,
      stop: () => new Promise<void>((r) => (finish = r)),
      force: () => {
        forced++;
        finish(); // the forced stop closes the store and resolves
      },
      timeoutMs: 5_000,
      logger: silentLogger(),
      exit: (code) => codes.push(code),
    });
    source.emit('SIGTERM', 'SIGTERM');
    source.emit('SIGTERM', 'SIGTERM');
    expect(forced).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(codes).toEqual([0]);

    const forcing = new EventEmitter() as EventEmitter & SignalSource;
    const codes2: number[] = [];
    handleShutdownSignals({ source: forcing, stop: () => new Promise<void>(() => undefined), force: () => undefined, timeoutMs: 5_000, logger: silentLogger(), exit: (c) => codes2.push(c) });
    forcing.emit('SIGTERM', 'SIGTERM');
    forcing.emit('SIGINT', 'SIGINT');
    forcing.emit('SIGINT', 'SIGINT');
    expect(codes2).toEqual([1]);
  });

  it('a stop that fails exits 1', async () => {
    const t = setup(() => Promise.reject(new Error('store flush failed')));
    t.source.emit('SIGTERM', 'SIGTERM');
    expect(await t.exited).toBe(1);
  });

  it('a stop that misses its deadline exits 1', async () => {
    const t = setup(() => new Promise<void>(() => undefined), 20);
    t.source.emit('SIGTERM', 'SIGTERM');
    expect(await t.exited).toBe(1);
  });

  it('signals after the exit are swallowed; remove() uninstalls', async () => {
    const t = setup(async () => undefined);
    t.source.emit('SIGTERM', 'SIGTERM');
    await t.exited;
    t.source.emit('SIGTERM', 'SIGTERM');
    expect(t.codes).toEqual([0]);
    t.remove();
    expect(t.source.listenerCount('SIGTERM')).toBe(0);
    expect(t.source.listenerCount('SIGINT')).toBe(0);
  });
});
