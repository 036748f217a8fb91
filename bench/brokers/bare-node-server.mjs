// Floor measurement, not a broker: the least a Node.js server can do per MQTT connection
// (accept, read the CONNECT, write a fixed 4-byte CONNACK, keep the socket). Used to show
// how much of holdfast's connect cost is Node's own socket handling.
// Usage: node bench/brokers/bare-node-server.mjs --port 18830
import net from 'node:net';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const CONNACK = Buffer.from([0x20, 2, 0, 0]);
const sockets = new Set();
net
  .createServer({ noDelay: true }, (s) => {
    sockets.add(s);
    s.on('data', () => s.write(CONNACK));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  })
  .listen({ port, host: '127.0.0.1', backlog: 8192 }, () => console.log(`bare node server on ${port}`));
