// Keeps the figures of scenarios that were not run this time: they are taken from the raw
// results file that the current BENCHMARKS.md bench block names ("Raw results: `...`"), so
// that `npm run bench -- --scenarios X` updates X's rows and leaves the others as they were.
import fs from 'node:fs';
import path from 'node:path';
import { BEGIN, END } from './report.mjs';

/**
 * Adds to `results` every scenario of the previous run that `results` lacks. Returns, per
 * carried scenario, where its figures come from (date, command, load average, versions, raw
 * file), carried along unchanged when they were already carried into the previous run.
 */
export function carryOver(outFile, repo, results, log = (m) => process.stderr.write(`${m}\n`)) {
  let text;
  try {
    text = fs.readFileSync(outFile, 'utf8');
  } catch {
    return {};
  }
  const a = text.indexOf(BEGIN);
  const z = a >= 0 ? text.indexOf(END, a) : -1;
  const m = a >= 0 && z > a ? /Raw results: `([^`]+)`/.exec(text.slice(a, z)) : null;
  if (!m) return {};
  let prev;
  try {
    prev = JSON.parse(fs.readFileSync(path.resolve(repo, m[1]), 'utf8'));
  } catch (e) {
    log(`warning: ${m[1]} (the run BENCHMARKS.md shows) is not readable (${e.code ?? e.message}): rows of scenarios not run now are dropped`);
    return {};
  }
  const carried = {};
  for (const [sc, per] of Object.entries(prev.results ?? {})) {
    if (sc in results) continue;
    results[sc] = per;
    const pm = prev.meta ?? {};
    carried[sc] = pm.carried?.[sc] ?? {
      date: pm.date,
      command: pm.command,
      loadavg_start: pm.loadavg_start,
      loadavg_end: pm.loadavg_end,
      versions: pm.versions,
      raw: m[1],
    };
  }
  return carried;
}
