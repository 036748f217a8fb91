import { describe, expect, it } from 'vitest';
import { createLogger, formatPrettyLine } from '../../../src/observability/logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

describe('logger', () => {
  it('writes JSON lines with level label, ISO time and msg', () => {
    const c = capture();
    createLogger({ level: 'info', pretty: false, destination: c.destination }).info({ ports: { mqtt: 1 } }, 'listening');
    const rec = JSON.parse(c.lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', msg: 'listening', ports: { mqtt: 1 } });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('respects the level', () => {
    const c = capture();
    const log = createLogger({ level: 'warn', pretty: false, destination: c.destination });
    log.info('hidden');
    log.warn('shown');
    expect(c.lines).toHaveLength(1);
  });

  it('never writes passwords or password hashes', () => {
    const c = capture();
    createLogger({ level: 'info', pretty: false, destination: c.destination }).info(
      { password: 'p', user: { passwordHash: 'scrypt$x' } },
      'x',
    );
    expect(c.lines[0]).not.toContain('scrypt$x');
    expect(c.lines[0]).not.toContain('"p"');
  });

  it('pretty mode prints one human-readable line', () => {
    const c = capture();
    createLogger({ level: 'info', pretty: true, destination: c.destination }).info({ bind: '0.0.0.0', ports: { mqtt: 1883 } }, 'listening');
    expect(c.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening bind=0\.0\.0\.0 ports=\{"mqtt":1883\}\n$/);
  });

  it('the pretty formatter passes through lines that are not JSON', () => {
    expect(formatPrettyLine('plain text\n')).toBe('plain text\n');
  });
});
