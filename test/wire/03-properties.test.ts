/**
 * Wire tests 03: MQTT 5 property sections (MQTT5 2.2.2). A property identifier that does
 * not exist, or does not belong in the packet, is a Malformed Packet (0x81); a property
 * other than User Property / Subscription Identifier given twice is a Protocol Error
 * (0x82); a property section that runs past its packet is malformed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { Bystander } from '../helpers/transport-clients.js';
import { expectRefusedAfterConnect, packet, props, str, u16, varint } from '../helpers/transport-wire.js';

let tb: TestBroker;
let bystander: Bystander;
beforeAll(async () => {
  tb = await startTestBroker();
  bystander = await Bystander.start(tb.port);
});
afterAll(async () => {
  await bystander.stop();
  await tb.stop();
});

const MALFORMED = { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true };
const PROTOCOL_ERROR = { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true };

/** v5 QoS 1 PUBLISH to a/b (packet id 1) with the given raw property bytes. */
function publishWithProps(propBytes: number[]): Buffer {
  return packet(0x32, [...str('a/b'), ...u16(1), ...props(propBytes), 0x78]);
}

describe('03 properties (v5)', () => {
  it('MQTT5 2.2.2.2 3.3.2.3.2 [03-01] Payload Format Indicator included twice -> 0x82', async () => {
    await expectRefusedAfterConnect(tb, 5, publishWithProps([0x01, 0x00, 0x01, 0x00]), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 2.2.2.2 3.3.2.3.3 [03-02] Message Expiry Interval included twice -> 0x82', async () => {
    const mei = [0x02, 0, 0, 0, 10];
    await expectRefusedAfterConnect(tb, 5, publishWithProps([...mei, ...mei]), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 2.2.2.2 3.3.2.3.5 [03-03] Response Topic included twice, with a User Property between -> 0x82', async () => {
    const rt = [0x08, ...str('r/t')];
    const up = [0x26, ...str('k'), ...str('v')];
    await expectRefusedAfterConnect(tb, 5, publishWithProps([...rt, ...up, ...rt]), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 2.2.2.2 3.8.2.1.2 [03-04] SUBSCRIBE with the Subscription Identifier twice -> 0x82', async () => {
    const body = [...u16(3), ...props([0x0b, 0x05, 0x0b, 0x06]), ...str('s/#'), 0x00];
    await expectRefusedAfterConnect(tb, 5, packet(0x82, body), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 2.2.2.2 [03-05] unknown property identifier 0x7F -> 0x81', async () => {
    await expectRefusedAfterConnect(tb, 5, publishWithProps([0x7f, 0x00]), MALFORMED, bystander);
  });

  it('MQTT5 2.2.2.2 [03-06] property identifier 0x00 (not assigned) -> 0x81', async () => {
    await expectRefusedAfterConnect(tb, 5, publishWithProps([0x00, 0x00]), MALFORMED, bystander);
  });

  it('MQTT5 2.2.2.2 [03-07] Session Expiry Interval (a CONNECT property) inside PUBLISH -> 0x81', async () => {
    await expectRefusedAfterConnect(tb, 5, publishWithProps([0x11, 0, 0, 0, 5]), MALFORMED, bystander);
  });

  it('MQTT5 2.2.2.2 [03-08] Reason String (server-to-client) inside SUBSCRIBE -> 0x81', async () => {
    const body = [...u16(4), ...props([0x1f, ...str('why')]), ...str('s/#'), 0x00];
    await expectRefusedAfterConnect(tb, 5, packet(0x82, body), MALFORMED, bystander);
  });

  it('MQTT5 2.2.2.1 [03-09] Property Length larger than the rest of the packet -> 0x81', async () => {
    // Property Length claims 40 bytes; the packet ends after 3.
    const body = [...str('a/b'), ...u16(1), ...varint(40), 0x01, 0x00, 0x78];
    await expectRefusedAfterConnect(tb, 5, packet(0x32, body), MALFORMED, bystander);
  });

  it('MQTT5 2.2.2.2 [03-10] a four-byte property cut short by the end of the property section -> 0x81', async () => {
    // Property Length 3 but Message Expiry Interval needs 1 + 4 bytes; payload bytes follow.
    const body = [...str('a/b'), ...u16(1), 3, 0x02, 0x00, 0x00, 0x78, 0x79, 0x7a];
    await expectRefusedAfterConnect(tb, 5, packet(0x32, body), MALFORMED, bystander);
  });

  it('MQTT5 3.3.2.3.2 [03-11] Payload Format Indicator with value 2 -> 0x82', async () => {
    await expectRefusedAfterConnect(tb, 5, publishWithProps([0x01, 0x02]), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 3.14.2.2 [03-12] DISCONNECT from the client carrying Server Reference twice -> 0x82', async () => {
    const sr = [0x1c, ...str('other')];
    await expectRefusedAfterConnect(tb, 5, packet(0xe0, [0x00, ...props([...sr, ...sr])]), PROTOCOL_ERROR, bystander);
  });

  it('MQTT5 2.2.2.2 [03-13] control: two User Properties with the same name are allowed', async () => {
    const up = [0x26, ...str('k'), ...str('v')];
    const c = await RawClient.connected(tb.port, 5);
    c.send(publishWithProps([...up, ...up]));
    const ack = (await c.next(4)) as { reasonCode?: number };
    // No subscriber: 0x10 No matching subscribers (MQTT5 3.4.2.1) or 0x00; not a DISCONNECT.
    expect([RC.SUCCESS, RC.NO_MATCHING_SUBSCRIBERS]).toContain(ack.reasonCode ?? 0);
    expect(c.closed).toBe(false);
    c.close();
  });
});
