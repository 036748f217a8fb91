import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../../src/app/cli.js';
import { verifyPassword } from '../../../src/platform/auth/index.js';
import { parse } from 'yaml';

function io(stdinText = '', tty = false) {
  let out = '';
  let err = '';
  const stdin = Object.assign(Readable.from([Buffer.from(stdinText)]), { isTTY: tty });
  const cli: CliIO = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin,
    env: {},
    signals: new EventEmitter(),
    cwd: process.cwd(),
  };
  return { cli, out: () => out, err: () => err };
}

describe('holdfast CLI (in-process)', () => {
  it('--help prints usage with every command, exit 0', async () => {
    const t = io();
    expect(await main(['--help'], t.cli)).toBe(0);
    for (const s of ['holdfast start', 'holdfast passwd', 'holdfast config check FILE', '--mqtt-port N', '--data-dir DIR']) {
      expect(t.out()).toContain(s);
    }
  });

  it('start --help lists every flag with its environment twin', async () => {
    const t = io();
    expect(await main(['start', '--help'], t.cli)).toBe(0);
    for (const [flag, env] of [
      ['--config', 'HOLDFAST_CONFIG'],
      ['--mqtt-port', 'HOLDFAST_MQTT_PORT'],
      ['--ws-port', 'HOLDFAST_WS_PORT'],
      ['--tls-port', 'HOLDFAST_TLS_PORT'],
      ['--http-port', 'HOLDFAST_HTTP_PORT'],
      ['--bind', 'HOLDFAST_BIND'],
      ['--data-dir', 'HOLDFAST_DATA_DIR'],
    ]) {
      expect(t.out()).toMatch(new RegExp(`${flag} .*\\[${env}\\]`));
    }
  });

  it('--version prints the package version', async () => {
    const t = io();
    expect(await main(['--version'], t.cli)).toBe(0);
    expect(t.out()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('no command: usage on stderr, exit 1; unknown command or option: one line, exit 1', async () => {
    const a = io();
    expect(await main([], a.cli)).toBe(1);
    expect(a.err()).toContain('Usage:');
    const b = io();
    expect(await main(['frobnicate'], b.cli)).toBe(1);
    expect(b.err()).toBe("holdfast: unknown command 'frobnicate' (see holdfast --help)\n");
    const c = io();
    expect(await main(['start', '--mqtt-prot', '1'], c.cli)).toBe(1);
    expect(c.err()).toBe('holdfast: unknown option --mqtt-prot (see holdfast start --help)\n');
    const d = io();
    expect(await main(['start', '--mqtt-port'], d.cli)).toBe(1);
    expect(d.err()).toBe('holdfast: option --mqtt-port needs a value (see holdfast start --help)\n');
    const e = io();
    expect(await main(['--verbose'], e.cli)).toBe(1);
    expect(e.err()).toBe('holdfast: unknown option --verbose (see holdfast --help)\n');
  });

  it('start with a bad flag value: every problem, exit 1, nothing started', async () => {
    const t = io();
    expect(await main(['start', '--mqtt-port', 'abc', '--ws-port', '99999'], t.cli)).toBe(1);
    const lines = t.err().trimEnd().split('\n');
    expect(lines[0]).toBe('holdfast: invalid configuration (flags), 2 problems:');
    expect(lines[1]).toMatch(/^ {2}listeners\.mqtt\.port: .*received "abc" \(from flag --mqtt-port\)$/);
    expect(lines[2]).toMatch(/^ {2}listeners\.ws\.port: .*received 99999 \(from flag --ws-port\)$/);
  });

  it('passwd --username reads stdin and prints a users entry whose hash verifies', async () => {
    const t = io('hunter2\n');
    expect(await main(['passwd', '--username', 'alice'], t.cli)).toBe(0);
    const entry = parse(t.out()) as Array<{ username: string; passwordHash: string }>;
    expect(entry).toHaveLength(1);
    expect(entry[0]!.username).toBe('alice');
    expect(entry[0]!.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('hunter2', entry[0]!.passwordHash)).toBe(true);
    expect(await verifyPassword('hunter2\n', entry[0]!.passwordHash)).toBe(false);
  });

  it('passwd without --username prints the bare hash; empty password is refused', async () => {
    const t = io('pw');
    expect(await main(['passwd'], t.cli)).toBe(0);
    expect(t.out()).toMatch(/^scrypt\$\S+\n$/);
    const e = io('\n');
    expect(await main(['passwd'], e.cli)).toBe(1);
    expect(e.err()).toMatch(/^holdfast: empty password/);
  });

  it('config check FILE: ok (exit 0) or every problem (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-cli-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'mqtt: { maxKeepAliveS: 30 }\n');
    const a = io();
    expect(await main(['config', 'check', good], a.cli)).toBe(0);
    expect(a.out()).toBe(`${good}: ok\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'mqtt: { maxKeepAliveS: "x" }\nlisteners: { tls: { certFile: nope.crt, keyFile: nope.key } }\n');
    const b = io();
    expect(await main(['config', 'check', bad], b.cli)).toBe(1);
    expect(b.err()).toContain(`mqtt.maxKeepAliveS: expected number, received string (${bad}:1:24)`);
    const c = io();
    expect(await main(['config', 'check'], c.cli)).toBe(1);
    expect(c.err()).toMatch(/expected 'holdfast config check FILE'/);
  });

  it('config check reads the TLS files it names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-cli-'));
    const file = join(dir, 'tls.yaml');
    writeFileSync(file, `listeners: { tls: { certFile: ${dir}/missing.crt, keyFile: ${dir}/missing.key } }\n`);
    const t = io();
    expect(await main(['config', 'check', file], t.cli)).toBe(1);
    expect(t.err()).toContain(`listeners.tls.certFile: cannot read ${dir}/missing.crt: no such file`);
    expect(t.err()).toContain(`listeners.tls.keyFile: cannot read ${dir}/missing.key: no such file`);
  });
});
