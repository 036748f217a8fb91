/** INTERFACES.md contracts that live outside the code: package.json, bin, README. */
import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

describe('operator-facing contracts', () => {
  it('package.json: bin holdfast and `npm start` = holdfast start', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin.holdfast).toBe('bin/holdfast.js');
    expect(pkg.scripts.start).toBe('node bin/holdfast.js start');
    expect(pkg.scripts.test).toBe('node scripts/test.mjs');
  });

  it('bin/holdfast.js is an executable node script running the built CLI', () => {
    const bin = read('bin/holdfast.js');
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(bin).toContain("from '../dist/app/cli.js'");
    accessSync(new URL('bin/holdfast.js', root), constants.X_OK);
  });

  it('.ci/run is executable and runs npm ci then npm test', () => {
    accessSync(new URL('.ci/run', root), constants.X_OK);
    const commands = read('.ci/run')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(commands).toEqual(['npm ci', 'npm test']);
  });

  it('README.md starts with the two commands', () => {
    expect(read('README.md').startsWith('```\nnpm install && npm start\n```\n```\nnpm test\n```\n')).toBe(true);
  });
});
