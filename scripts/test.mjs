#!/usr/bin/env node
// `npm test`: typecheck, lint (eslint + dependency-cruiser), then vitest. Every step runs
// even when an earlier one failed, so one run shows everything. The last line is always
// `N passed, M failed`; a failed typecheck or lint counts as 1 failed each, a test file
// that cannot even be loaded counts as 1 failed. Exit code 1 when anything failed.
// Extra arguments go to vitest: `npm test -- test/unit/app`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(label, cmd, args) {
  process.stdout.write(`\n=== ${label}\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const ok = r.status === 0;
  process.stdout.write(`=== ${label}: ${ok ? 'ok' : `FAILED (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return ok;
}

let passed = 0;
let failed = 0;

const typecheck = step('typecheck: tsc -p tsconfig.json --noEmit', node, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
if (typecheck) passed++;
else failed++;

const lint = step('lint: npm run lint', npm, ['run', '--silent', 'lint']);
if (lint) passed++;
else failed++;

const report = join(tmpdir(), `holdfast-vitest-${process.pid}.json`);
const vitestOk = step('tests: vitest run', node, [
  join(root, 'node_modules/vitest/vitest.mjs'),
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);

let skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  rmSync(report, { force: true });
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load has no test results, only a failed status.
  const broken = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0);
  for (const f of broken) process.stdout.write(`could not run ${f.name}: ${(f.message ?? '').split('\n')[0]}\n`);
  failed += broken.length;
  if (!vitestOk && r.numFailedTests === 0 && broken.length === 0) {
    process.stdout.write('vitest failed outside of any test (unhandled error, see above)\n');
    failed++;
  }
} else {
  process.stdout.write('vitest wrote no report (it crashed before running tests)\n');
  failed++;
}

if (skipped > 0) process.stdout.write(`${skipped} skipped\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
