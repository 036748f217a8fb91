/**
 * Interop with the Mosquitto command line clients (mosquitto_pub / mosquitto_sub 2.x), MQTT
 * 3.1.1 and 5.0: one round trip per QoS, and a retained message set, received and cleared.
 * The broker's session table tells when mosquitto_sub is subscribed; the publisher's debug
 * output ("received PUBACK" / "PUBCOMP", printed at exit) that the broker completed the QoS flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import { runCli, uid, waitUntil } from '../helpers/pubsub-clients.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(() => stopBroker(tb));

const FORMAT = 'MSG|%t|%q|%r|%p';

function common(version: string): string[] {
  return ['-h', '127.0.0.1', '-p', String(tb.port), '-V', version];
}

/** The messages printed by mosquitto_sub with FORMAT. */
function messages(stdout: string): { topic: string; qos: number; retain: number; payload: string }[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('MSG|'))
    .map((l) => {
      const [, topic, qos, retain, ...rest] = l.split('|');
      return { topic, qos: Number(qos), retain: Number(retain), payload: rest.join('|') };
    });
}

for (const version of ['mqttv311', 'mqttv5']) {
  describe(`mosquitto ${version}`, () => {
    for (const qos of [0, 1, 2]) {
      it(`MQTT-3.3.4-1 / MQTT-4.3.${qos + 1} mosquitto_pub -> holdfast -> mosquitto_sub at QoS ${qos} (${version})`, async () => {
        const topic = `interop/${uid(version)}/q${qos}`;
        const payload = `hello ${version} q${qos}`;
        const subId = uid('msub');
        const sub = runCli('mosquitto_sub', [...common(version), '-i', subId, '-t', topic, '-q', String(qos), '-C', '1', '-W', '10', '-F', FORMAT]);
        try {
          // mosquitto_sub's stdout is block-buffered on a pipe: watch the broker for the subscription instead.
          await waitUntil(() => tb.broker.sessions.get(subId)?.subscriptions.has(topic) === true, 'the mosquitto_sub subscription');
          const pub = runCli('mosquitto_pub', [...common(version), '-d', '-t', topic, '-q', String(qos), '-m', payload]);
          const p = await pub.done;
          expect(p.code, p.stderr).toBe(0);
          if (qos === 1) expect(p.stdout).toContain('received PUBACK');
          if (qos === 2) {
            expect(p.stdout).toContain('received PUBREC');
            expect(p.stdout).toContain('received PUBCOMP');
          }
          const s = await sub.done;
          expect(s.code, s.stderr).toBe(0);
          expect(messages(s.stdout)).toEqual([{ topic, qos, retain: 0, payload }]);
        } finally {
          sub.kill();
        }
      });
    }

    it(`MQTT-3.3.1-5/6/7 a retained message from mosquitto_pub reaches a later mosquitto_sub with RETAIN=1, and an empty one clears it (${version})`, async () => {
      const topic = `interop/${uid(version)}/retained`;
      const set = await runCli('mosquitto_pub', [...common(version), '-t', topic, '-q', '1', '-r', '-m', 'kept']).done;
      expect(set.code, set.stderr).toBe(0);
      const s = await runCli('mosquitto_sub', [...common(version), '-t', topic, '-q', '1', '-C', '1', '-W', '10', '-F', FORMAT]).done;
      expect(s.code, s.stderr).toBe(0);
      expect(messages(s.stdout)).toEqual([{ topic, qos: 1, retain: 1, payload: 'kept' }]);
      expect(tb.broker.router.retained.has(topic)).toBe(true);
      const clear = await runCli('mosquitto_pub', [...common(version), '-t', topic, '-q', '1', '-r', '-n']).done;
      expect(clear.code, clear.stderr).toBe(0);
      expect(tb.broker.router.retained.has(topic)).toBe(false);
    });
  });
}
