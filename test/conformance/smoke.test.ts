import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.stop();
});

describe('smoke', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion} publish/subscribe round trip`, async () => {
      const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${tb.port}`, { protocolVersion, clientId: `s${protocolVersion}` });
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${tb.port}`, { protocolVersion, clientId: `p${protocolVersion}` });
      await sub.subscribeAsync('a/+', { qos: 1 });
      const got = new Promise<[string, string]>((res) => sub.on('message', (t, m) => res([t, m.toString()])));
      await pub.publishAsync('a/b', 'hello', { qos: 1 });
      expect(await got).toEqual(['a/b', 'hello']);
      await pub.endAsync();
      await sub.endAsync();
    });
  }
});
