/**
 * The layering rules in .dependency-cruiser.cjs must actually bite: run depcruise with the
 * repository's config on small fixtures, once with only allowed imports (must pass) and
 * once per forbidden kind of import (must fail, naming the rule).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-layers-'));
  made.push(dir);
  cpSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', type: 'module', devDependencies: { 'dev-only': '1' } }));
  mkdirSync(join(dir, 'node_modules/dev-only'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/dev-only/package.json'), JSON.stringify({ name: 'dev-only', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dir, 'node_modules/dev-only/index.js'), 'module.exports = 1;\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function cruise(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // CI may set FORCE_COLOR (vitest's own output is coloured there): the report is parsed, so
    // colour is turned off for the child and any escape that still comes through is removed.
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    execFile(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: dir, env }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output });
    });
  });
}

const allowed: Record<string, string> = {
  'src/errors/index.ts': 'export class E extends Error {}\n',
  'src/codec/x.ts': "import { E } from '../errors/index.js';\nexport const x = new E();\n",
  'src/ports/store.ts': 'export interface Store { open(): void }\n',
  'src/observability/log.ts': 'export const log = 1;\n',
  'src/broker/transport/t.ts': "import { x } from '../../codec/x.js';\nexport const t = x;\n",
  'src/broker/channel/c.ts': "import type { Store } from '../../ports/store.js';\nexport type C = Store;\n",
  'src/broker/index.ts': "import { t } from './transport/t.js';\nexport const b = t;\n",
  'src/platform/acl.ts': "import { b } from '../broker/index.js';\nexport const acl = b;\n",
  'src/adapters/mem.ts': "import type { Store } from '../ports/store.js';\nimport { log } from '../observability/log.js';\nexport const m: Store | number = log;\n",
  'src/app/main.ts': "import { acl } from '../platform/acl.js';\nimport { m } from '../adapters/mem.js';\nexport const main = [acl, m];\n",
};

const violations: Array<[rule: string, path: string, text: string]> = [
  ['foundation-imports-upward', 'src/codec/bad.ts', "import { b } from '../broker/index.js';\nexport const bad = b;\n"],
  ['foundation-imports-upward', 'src/observability/bad.ts', "import type { C } from '../broker/channel/c.js';\nexport type Bad = C;\n"],
  ['broker-imports-upward', 'src/broker/bad.ts', "import { acl } from '../platform/acl.js';\nexport const bad = acl;\n"],
  ['platform-imports-app', 'src/platform/bad.ts', "import { main } from '../app/main.js';\nexport const bad = main;\n"],
  ['adapters-beyond-ports', 'src/adapters/bad.ts', "import { b } from '../broker/index.js';\nexport const bad = b;\n"],
  ['channel-imports-transport', 'src/broker/channel/bad.ts', "import { t } from '../transport/t.js';\nexport const bad = t;\n"],
  ['src-imports-dev-dependency', 'src/app/bad-dev.ts', "import d from 'dev-only';\nexport const bad = d;\n"],
  ['not-to-unresolvable', 'src/app/bad-missing.ts', "import { nothing } from './missing.js';\nexport const bad = nothing;\n"],
  ['no-circular', 'src/codec/cycle-a.ts', "import { b } from './cycle-b.js';\nexport const a = () => b;\n"],
];
const cycleB = "import { a } from './cycle-a.js';\nexport const b = 1;\nexport const c = a;\n";

// One depcruise run costs ~2 s (it loads TypeScript): the cases share runs.
describe('layer rules (dependency-cruiser)', () => {
  it('a tree with only downward imports, and a cycle closed by `import type`, passes', async () => {
    const r = await cruise(
      fixture({
        ...allowed,
        'src/codec/ta.ts': "import { tb } from './tb.js';\nexport const ta = () => tb;\n",
        'src/codec/tb.ts': "import type { ta } from './ta.js';\nexport const tb = 1;\nexport type T = typeof ta;\n",
      }),
    );
    expect(r.output).not.toMatch(/error/);
    expect(r.code).toBe(0);
  });

  it('every forbidden kind of import is refused, each naming its rule and file', async () => {
    const files = Object.fromEntries(violations.map(([, path, text]) => [path, text]));
    const r = await cruise(fixture({ ...allowed, ...files, 'src/codec/cycle-b.ts': cycleB }));
    expect(r.code).not.toBe(0);
    const errorLines = r.output.split('\n').filter((l) => /^\s*error /.test(l));
    for (const [rule, path] of violations) {
      expect(errorLines.some((l) => l.includes(`error ${rule}: ${path}`)), `${rule} ${path}\n${r.output}`).toBe(true);
    }
    // Nothing else is flagged: the allowed imports stay allowed next to the bad ones.
    expect(errorLines).toHaveLength(violations.length);
  });
});
