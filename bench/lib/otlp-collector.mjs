/**
 * An OTLP/HTTP collector stand-in for the observability benchmarks: a process of its own (so
 * that its CPU is not charged to the broker), optionally pinned to a core, that parses each
 * POST to /v1/traces and counts its spans; a GET answers the count so far.
 */
import { spawn } from 'node:child_process';

const SERVER = `let n = 0;
const s = require('node:http').createServer((q, r) => {
  if (q.method === 'GET') return r.end(String(n));
  const parts = [];
  q.on('data', (d) => parts.push(d));
  q.on('end', () => {
    for (const rs of JSON.parse(Buffer.concat(parts).toString()).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
    r.end('{}');
  });
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;

/** Resolves with { url (the traces endpoint), spans() (received so far, a number), stop() }. */
export async function startCollectorStandIn({ core } = {}) {
  const [cmd, args] = core === undefined ? [process.execPath, ['-e', SERVER]] : ['taskset', ['-c', String(core), process.execPath, '-e', SERVER]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans: () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).then(Number),
    stop: () => child.kill(),
  };
}
