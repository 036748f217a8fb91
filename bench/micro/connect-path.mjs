// Cost of holdfast's own connect path (Connection + Channel + CONNECT/CONNACK), without sockets:
// `npm run build && node bench/micro/connect-path.mjs`. Keeps every connection alive, like an idle fleet.
import { MemoryStore } from '../../dist/adapters/persistence/memory/index.js';
import { Broker } from '../../dist/broker/broker.js';
import { DEFAULT_BROKER_CONFIG } from '../../dist/broker/config.js';
import { Connection } from '../../dist/broker/transport/connection.js';
import { encode } from '../../dist/codec/mqtt/index.js';
import { silentLogger } from '../../dist/observability/logger.js';
const broker = new Broker(structuredClone(DEFAULT_BROKER_CONFIG), { store: new MemoryStore(), logger: silentLogger() });
const bytes = (i) => encode({ type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c' + i }, 4);
const N = Number(process.env.N ?? 100000); const conns = [];
const pre = []; for (let i = 0; i < N; i++) pre.push(bytes(i));
const wire = { remoteAddress: '1.2.3.4:5', listener: 'mqtt', certificate: undefined, write(_b, _cb) {}, bufferedBytes: () => 0, pause() {}, resume() {}, end() {}, destroy() {} };
let t = process.hrtime.bigint();
for (let i = 0; i < N; i++) { const c = new Connection(broker); c.start(wire); c.onData(pre[i]); conns.push(c); }
await new Promise(r => setImmediate(r));
console.log('per connect µs', Number(process.hrtime.bigint() - t) / N / 1000);
console.log('heap per conn B', process.memoryUsage().heapUsed / N);
