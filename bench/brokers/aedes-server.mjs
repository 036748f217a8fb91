// Aedes reference broker for `npm run bench`: default in-memory persistence, plain TCP.
// Usage: node bench/brokers/aedes-server.mjs --port 18830 [--host 127.0.0.1]
import net from 'node:net';
import { Aedes } from 'aedes';

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const port = Number(arg('--port', '1883'));
const host = arg('--host', '127.0.0.1');
const aedes = await Aedes.createBroker();
const server = net.createServer(aedes.handle);
// Node's default listen backlog is 511; keep the default like any stock Aedes deployment.
server.listen(port, host, () => {
  process.stdout.write(`aedes listening on ${host}:${port}\n`);
});

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
