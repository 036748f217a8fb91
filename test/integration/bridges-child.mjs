#!/usr/bin/env node
// A broker with bridges in a child process, for the kill -9 test (bridges-crash.test.ts),
// built from dist/ (the test runs ensureBuilt first). Composed like the app composes it:
// SQLite store in the data dir, bridges.hooks.admitPublish on the broker, bridges started
// after the broker and before the listeners. Until `holdfast start` composes the bridges,
// this stands in for it; the test switches to the CLI with HOLDFAST_BRIDGES_CLI=1.
//
//   node bridges-child.mjs '{"dataDir":"...","bridges":{...}}'
// prints one JSON line {"msg":"bridges child ready","port":N} and runs until killed.
import { join } from 'node:path';

const dist = new URL('../../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { SqliteStore } = await load('adapters/persistence/sqlite/index.js');
const { Broker } = await load('broker/broker.js');
const { DEFAULT_BROKER_CONFIG } = await load('broker/config.js');
const { startListeners } = await load('broker/transport/index.js');
const { silentLogger } = await load('observability/logger.js');
const { createBridges, parseBridgesConfig } = await load('platform/bridges/index.js');
const { northboundSinks } = await load('adapters/northbound/index.js');

const opts = JSON.parse(process.argv[2]);
const config = structuredClone(DEFAULT_BROKER_CONFIG);
config.overload.enabled = false;
config.flapping.enabled = false;
const store = new SqliteStore({ file: join(opts.dataDir, 'holdfast.db'), durability: 'commit' });
const hooks = {};
const broker = new Broker(config, { store, logger: silentLogger(), hooks });
const bridges = createBridges({ broker, store, config: parseBridgesConfig(opts.bridges), logger: silentLogger(), sinks: northboundSinks });
hooks.admitPublish = bridges.hooks.admitPublish;
await broker.start();
await bridges.start();
const listeners = await startListeners(
  broker,
  { bind: '127.0.0.1', mqttPort: 0, wsPort: null, wsPath: '/mqtt', tls: null, backlog: 511 },
  silentLogger(),
);
process.stdout.write(`${JSON.stringify({ msg: 'bridges child ready', port: listeners.addresses.mqtt, status: bridges.status() })}\n`);
process.on('SIGTERM', async () => {
  await bridges.stop();
  await broker.close();
  await listeners.close();
  process.exit(0);
});
