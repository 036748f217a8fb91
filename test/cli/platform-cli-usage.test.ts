/**
 * `holdfast devices|shadow|cmd|simulate` as processes, the cases that need no server:
 * help texts, usage errors (exit 1), an unreachable server (exit 1 with one line).
 * The commands against a real server: test/cli/platform-cli.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, occupyPort, runHoldfast } from './helpers.js';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe('holdfast devices / shadow / cmd / simulate: usage (issue 5 CLI)', () => {
  it.each(['devices', 'shadow', 'cmd', 'simulate'])('%s --help prints its usage with the exit codes, exit 0', async (cmd) => {
    const r = await runHoldfast([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage/);
    expect(r.stdout).toContain('HOLDFAST_TOKEN');
    expect(r.stdout).toContain('Exit codes');
  });

  it('the main help lists the API commands', async () => {
    const r = await runHoldfast(['--help']);
    expect(r.stdout).toMatch(/holdfast devices add\|list\|show\|disable/);
    expect(r.stdout).toMatch(/holdfast cmd send DEVICE NAME/);
    expect(r.stdout).toMatch(/holdfast simulate --devices N/);
  });

  const USAGE: [string[], RegExp][] = [
    [['devices'], /^Usage/],
    [['devices', 'frobnicate', 'x'], /unknown devices command 'frobnicate'/],
    [['devices', 'add', 'd1'], /devices add needs --type TYPE/],
    [['devices', 'add', 'd1', '--type', 'm', '--label', 'novalue'], /--label needs key=value/],
    [['devices', 'add', 'd1', '--type', 'm', '--metadata', '[1]'], /--metadata must be a JSON object/],
    [['devices', 'show'], /devices show needs one device id/],
    [['devices', 'list', '--limit', 'x'], /--limit needs an integer/],
    [['devices', 'list', '--bogus'], /unknown option --bogus/],
    [['shadow', 'set', 'd1', '{nope'], /the desired document is not valid JSON/],
    [['shadow', 'set', 'd1', '[1,2]'], /must be a JSON object/],
    [['cmd', 'send', 'd1'], /cmd send needs <device> <name> \[json\]/],
    [['cmd', 'send', 'd1', 'reboot', '{x'], /the payload is not valid JSON/],
    [['simulate'], /simulate needs --devices N/],
    [['simulate', '--devices', '5', '--protocol', '7'], /--protocol is 4/],
    [['simulate', '--devices', '5', '--jwt-secret', 'short'], /at least 32 bytes/],
    [['devices', 'list', '--url', 'ftp://x'], /--url needs an http\(s\) URL/],
  ];
  it.each(USAGE)('%j is a usage error: exit 1, one message', async (args, message) => {
    const r = await runHoldfast(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('an unreachable server: exit 1, one line naming the URL', async () => {
    // A port that is free now and nobody listens on (occupied, then released).
    const { port, release } = await occupyPort();
    await release();
    const r = await runHoldfast(['devices', 'list'], { env: { HOLDFAST_URL: `http://127.0.0.1:${port}`, HOLDFAST_TOKEN: 'x'.repeat(20) } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach http://127.0.0.1:${port}`);
  });
});
