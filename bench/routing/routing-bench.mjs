#!/usr/bin/env node
// Routing micro-benchmark: prints operations per second for the subscription trie, shared
// group picks and the retained index. Not a test (no thresholds); numbers vary with the
// machine and its load. Run after building:
//   npx tsc -p tsconfig.build.json && node bench/routing/routing-bench.mjs [--ms=1000]
import { performance } from 'node:perf_hooks';

const dist = new URL('../../dist/broker/routing/index.js', import.meta.url);
const { SubscriptionTrie, SharedGroups, RetainedIndex } = await import(dist.href);

const msArg = process.argv.find((a) => a.startsWith('--ms='));
const RUN_MS = msArg ? Number(msArg.slice(5)) : 1000;
// V8 needs about a second to tier a hot loop up fully; warm up long enough to measure that.
const WARMUP_MS = Math.min(800, RUN_MS);

/** Calls fn(i) in batches until `ms` elapsed; returns calls per second. */
function rate(fn, ms) {
  let n = 0;
  const batch = 1000;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < batch; i++) fn(n + i);
    n += batch;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

function bench(name, fn, note = '') {
  rate(fn, WARMUP_MS);
  const r = rate(fn, RUN_MS);
  console.log(`${name.padEnd(58)} ${Math.round(r).toLocaleString('en-US').padStart(13)} /s  ${note}`);
  return r;
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');

// A static visitor and a context object: no closure per match, as the broker would do it.
const ctx = { visits: 0 };
const countVisit = (_key, _value, _filter, c) => {
  c.visits++;
};

console.log(`node ${process.version}, ${RUN_MS} ms per case\n`);

// --- SubscriptionTrie: 10k exact filters + 1 wildcard ------------------------------------
{
  const trie = new SubscriptionTrie();
  const N = 10_000;
  for (let i = 0; i < N; i++) trie.add(`devices/${i}/cmd`, `client-${i}`, { qos: 1 });
  trie.add('devices/+/cmd', 'monitor', { qos: 0 });
  const topics = Array.from({ length: N }, (_, i) => `devices/${(i * 7919) % N}/cmd`);
  const misses = Array.from({ length: N }, (_, i) => `devices/${i}/telemetry`);
  ctx.visits = 0;
  const r = bench('trie 10k filters + devices/+/cmd: match (2 visits each)', (i) => trie.match(topics[i % N], countVisit, ctx));
  console.log(`${''.padEnd(58)} ${fmt(r * 2).padStart(13)} visits/s`);
  bench('trie 10k filters + devices/+/cmd: match with no subscriber', (i) => trie.match(misses[i % N], countVisit, ctx));
  bench('trie 10k filters + devices/+/cmd: match with a closure', (i) => {
    let n = 0;
    trie.match(topics[i % N], () => {
      n++;
    });
    return n;
  });
}

// --- SubscriptionTrie: a mixed, deeper trie -----------------------------------------------
{
  const trie = new SubscriptionTrie();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const site = i % 100;
    const dev = Math.floor(i / 100);
    if (i % 10 === 0) trie.add(`site/${site}/dev/+/#`, `ops-${i}`, 0);
    else if (i % 10 === 1) trie.add(`site/+/dev/${dev}/temp`, `agg-${i}`, 0);
    else trie.add(`site/${site}/dev/${dev}/temp`, `dev-${i}`, 0);
  }
  trie.add('#', 'logger', 0);
  const topics = Array.from({ length: N }, (_, i) => `site/${i % 100}/dev/${(i * 31) % 100}/temp`);
  let visits = 0;
  for (const t of topics) trie.match(t, () => visits++);
  bench('trie 10k mixed filters (10% wildcard) + #: match', (i) => trie.match(topics[i % N], countVisit, ctx), `(avg ${(visits / N).toFixed(1)} visits)`);
}

// --- SharedGroups -------------------------------------------------------------------------
{
  const groups = new SharedGroups();
  for (let i = 0; i < 16; i++) groups.join('workers', 'jobs/+', `w${i}`, { online: i % 4 !== 0 });
  const online = (_k, v) => v.online;
  bench('shared group of 16 (4 offline): pick round robin', () => groups.pick('workers', 'jobs/+', online));
}

// --- RetainedIndex: 100k topics -----------------------------------------------------------
{
  const index = new RetainedIndex();
  const SITES = 100;
  const DEVS = 1000;
  let t0 = performance.now();
  for (let s = 0; s < SITES; s++) for (let d = 0; d < DEVS; d++) index.set(`site/${s}/dev/${d}/temp`, { payload: d });
  for (let i = 0; i < 50; i++) index.set(`$SYS/broker/stat${i}`, { payload: i });
  const buildMs = performance.now() - t0;
  console.log(`\nretained: ${fmt(index.size)} topics built in ${buildMs.toFixed(0)} ms (${fmt((index.size * 1000) / buildMs)} set/s)`);

  const replaceTopics = Array.from({ length: 10_000 }, (_, i) => `site/${i % SITES}/dev/${(i * 13) % DEVS}/temp`);
  bench('retained: set (replace existing)', (i) => index.set(replaceTopics[i % 10_000], { payload: i }));

  const drain = (filter) => {
    let n = 0;
    for (const _ of index.match(filter)) n++;
    return n;
  };
  const cases = [
    ['site/42/dev/7/temp', 'exact'],
    ['site/42/dev/+/temp', '1 site'],
    ['site/+/dev/7/temp', '1 device in every site'],
    ['site/42/#', '1 site, #'],
  ];
  for (const [filter, what] of cases) {
    const n = drain(filter);
    const r = bench(`retained: match ${filter} fully (${fmt(n)} results)`, () => drain(filter), what);
    if (n > 1) console.log(`${''.padEnd(58)} ${fmt(r * n).padStart(13)} results/s`);
  }

  // `#` over everything: results per second, and the cost of the first batch (laziness).
  let total = 0;
  let allMs = Infinity;
  for (let run = 0; run < 5; run++) {
    t0 = performance.now();
    total = drain('#');
    allMs = Math.min(allMs, performance.now() - t0);
  }
  console.log(`retained: match # fully, best of 5: ${fmt(total)} results in ${allMs.toFixed(1)} ms (${fmt((total * 1000) / allMs)} results/s; $SYS excluded)`);
  const firstBatch = () => {
    const gen = index.match('#');
    for (let i = 0; i < 100; i++) gen.next();
    gen.return(undefined);
  };
  const r = bench('retained: match # , first 100 results then stop', firstBatch);
  console.log(`${''.padEnd(58)} ${(1e6 / r).toFixed(1).padStart(13)} us per batch of 100`);
}
