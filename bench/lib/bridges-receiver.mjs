#!/usr/bin/env node
// The webhook of the `bridges-throughput` http variant, in its own (pinned) process:
// node:http on 127.0.0.1:0, answers 200 to every POST and counts the messages of the batch
// documents (docs/bridges.md). Prints `{"port":N}` once listening; GET /stats answers
// `{"requests":N,"messages":N}`.
import http from 'node:http';

let requests = 0;
let messages = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests, messages }));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    requests++;
    try {
      messages += JSON.parse(Buffer.concat(chunks).toString('utf8')).messages.length;
    } catch {
      messages++; // single mode: one message per request
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
