/**
 * The `holdfast` command as operators run it: `node bin/holdfast.js` on the built dist/.
 * These cases need no broker: they end before anything is started.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runHoldfast, tempDir } from './helpers.js';

beforeAll(ensureBuilt, 180_000);

describe('holdfast (process)', () => {
  it('--help: usage on stdout, exit 0', async () => {
    const r = await runHoldfast(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('holdfast start [--config FILE] [--mqtt-port N] [--ws-port N] [--tls-port N]');
    expect(r.stderr).toBe('');
  });

  it('--version prints the version from package.json', async () => {
    const r = await runHoldfast(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown flag: one clear line, exit 1', async () => {
    const r = await runHoldfast(['start', '--mqtt-prot', '1883']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('holdfast: unknown option --mqtt-prot (see holdfast start --help)\n');
  });

  it('a bad config file: exit 1, every problem listed with its path, nothing started', async () => {
    const dir = tempDir();
    const file = join(dir, 'holdfast.yaml');
    writeFileSync(
      file,
      ['mqtt:', '  maxKeepAliveS: "60"', '  maxKeepAlive: 5', 'acl:', '  deniedSubscribeReasonCode: 0x88', '  rules:', '    - { action: publish, topic: "a/#/b", allow: yes }', 'listners: {}', ''].join('\n'),
    );
    const r = await runHoldfast(['start', '--config', file, '--mqtt-port', '0', '--http-port', '0'], { cwd: dir });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`holdfast: invalid configuration (${file} + flags), 6 problems:`);
    expect(lines.slice(1).map((l) => l.trim().replace(/ \([^()]*:\d+:\d+\)$/, ''))).toEqual(
      expect.arrayContaining([
        'mqtt.maxKeepAliveS: expected number, received string',
        'mqtt.maxKeepAlive: unknown key (did you mean maxKeepAliveS?)',
        'acl.deniedSubscribeReasonCode: expected 0x87 (Not authorized) or 0x80 (Unspecified error), received 136',
        'acl.rules[0].topic: not a valid MQTT topic filter: "a/#/b"',
        'acl.rules[0].allow: expected boolean, received string',
        'listners: unknown key (did you mean listeners?)',
      ]),
    );
    expect(r.stdout).not.toContain('"msg":"listening"');
  });

  it('a bad environment value: exit 1, the problem names the variable', async () => {
    const r = await runHoldfast(['start'], { env: { HOLDFAST_MQTT_PORT: 'eighty' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'listeners.mqtt.port: expected a port number 0-65535, or null/false to disable, received "eighty" (from environment variable HOLDFAST_MQTT_PORT)',
    );
  });

  it('a missing config file named by HOLDFAST_CONFIG: exit 1 naming it', async () => {
    const r = await runHoldfast(['start'], { env: { HOLDFAST_CONFIG: '/nonexistent/holdfast.yaml' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read config file /nonexistent/holdfast.yaml: no such file');
  });

  it('passwd reads the password from stdin and prints a users entry', async () => {
    const r = await runHoldfast(['passwd', '--username', 'alice'], { stdin: 'hunter2\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^- username: alice\n {2}passwordHash: scrypt\$16384\$8\$1\$\S+\n$/);
  });

  it('config check FILE: exit 0 for a good file, 1 with problems for a bad one', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'acl:\n  deniedSubscribeReasonCode: 0x80\n  rules:\n    - { action: all, topic: "#", allow: true }\n');
    const ok = await runHoldfast(['config', 'check', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${good}: ok\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'http: { port: "x" }\n');
    const ko = await runHoldfast(['config', 'check', bad]);
    expect(ko.code).toBe(1);
    expect(ko.stderr).toContain(`http.port: expected a port number 0-65535, or null/false to disable, received "x" (${bad}:1:15)`);
  });
});
