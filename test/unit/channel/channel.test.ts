/**
 * The channel as a pure state machine: packets in, packets out. No sockets, manual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../../src/codec/mqtt/packets.js';
import { harness } from './harness.js';

const pub = (topic: string, payload: string, qos: 0 | 1 | 2 = 0, extra: Partial<PublishPacket> = {}): PublishPacket => ({
  type: 3,
  topic,
  payload: Buffer.from(payload),
  qos,
  retain: false,
  dup: false,
  packetId: qos > 0 ? (extra.packetId ?? 1) : undefined,
  ...extra,
});

const sub = (topic: string, qos: 0 | 1 | 2 = 0, packetId = 1, more = {}): Packet => ({
  type: 8,
  packetId,
  subscriptions: [{ topic, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...more }],
});

describe('channel: CONNECT', () => {
  it('MQTT-3.1.0-1 a first packet other than CONNECT closes without a reply', () => {
    const h = harness();
    const c = h.open();
    expect(c.in({ type: 12 })).toEqual([]);
    expect(c.out.ended).toBe(true);
    expect(c.ch.state).toBe('closed');
  });

  it('MQTT-3.2.0-1 CONNECT is answered by CONNACK 0 (3.1.1, no properties)', () => {
    const { connack } = harness().connect(4);
    expect(connack).toEqual({ type: 2, sessionPresent: false, reasonCode: 0 });
  });

  it('MQTT-3.1.0-2 a second CONNECT is a protocol error: v5 DISCONNECT 0x82 with a reason string', () => {
    const h = harness();
    const c = h.connect(5);
    const out = c.in({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'x' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 14, reasonCode: 0x82 });
    expect((out[0] as { properties: { reasonString: string } }).properties.reasonString).toMatch(/CONNECT/);
    expect(c.out.ended).toBe(true);
  });

  it('MQTT-3.1.3-8 3.1.1 zero-length client id with clean session 0 gets CONNACK 0x02', () => {
    const { connack, out } = harness().connect(4, { clientId: '', clean: false });
    expect(connack).toEqual({ type: 2, sessionPresent: false, reasonCode: 0x02 });
    expect(out.ended).toBe(true);
  });

  it('MQTT5 3.2.2.3.7 zero-length client id gets an Assigned Client Identifier', () => {
    const { connack, ch } = harness().connect(5, { clientId: '' });
    const id = (connack as { properties: { assignedClientIdentifier: string } }).properties.assignedClientIdentifier;
    expect(id).toMatch(/^hf-/);
    expect(ch.clientId).toBe(id);
  });

  it('MQTT5 3.2.2.3.14 a v5 client asking for more than maxKeepAliveS gets Server Keep Alive', () => {
    const { connack } = harness({ mqtt: { maxKeepAliveS: 20 } }).connect(5, { keepalive: 100 });
    expect(connack).toMatchObject({ properties: { serverKeepAlive: 20 } });
    const { connack: c2 } = harness({ mqtt: { maxKeepAliveS: 20 } }).connect(5, { keepalive: 10 });
    expect((c2 as unknown as { properties: Record<string, unknown> }).properties.serverKeepAlive).toBeUndefined();
  });

  it('MQTT5 3.2.2.3.4 Maximum QoS is advertised only when below 2', () => {
    const { connack } = harness({ mqtt: { maximumQoS: 1 } }).connect(5);
    expect(connack).toMatchObject({ properties: { maximumQoS: 1 } });
    const { connack: c2 } = harness().connect(5);
    expect('maximumQoS' in (c2 as { properties: object }).properties).toBe(false);
  });

  it('MQTT-3.1.2-24 keepalive is enforced at 1.5x: v5 DISCONNECT 0x8D', () => {
    const h = harness();
    const c = h.connect(5, { keepalive: 10 });
    h.clock.advance(14_900);
    c.ch.check(h.clock.now());
    expect(c.out.take()).toEqual([]);
    h.clock.advance(200);
    c.ch.check(h.clock.now());
    expect(c.out.take()).toMatchObject([{ type: 14, reasonCode: 0x8d }]);
    expect(c.ch.state).toBe('closed');
  });

  it('MQTT-3.1.2-24 any packet resets the keepalive clock', () => {
    const h = harness();
    const c = h.connect(4, { keepalive: 10 });
    h.clock.advance(14_000);
    expect(c.in({ type: 12 })).toEqual([{ type: 13 }]);
    h.clock.advance(14_000);
    c.ch.check(h.clock.now());
    expect(c.ch.state).toBe('connected');
  });

  it('a connection without CONNECT is closed after connectTimeoutMs', () => {
    const h = harness({ mqtt: { connectTimeoutMs: 1000 } });
    const c = h.open();
    h.clock.advance(1001);
    c.ch.check(h.clock.now());
    expect(c.out.ended).toBe(true);
  });
});

describe('channel: session takeover', () => {
  it('MQTT-3.1.4-3 a second connection takes over: old v5 connection gets DISCONNECT 0x8E', () => {
    const h = harness();
    const a = h.connect(5, { clientId: 'same' });
    const b = h.connect(5, { clientId: 'same' });
    expect(b.connack).toMatchObject({ reasonCode: 0 });
    expect(a.out.take()).toMatchObject([{ type: 14, reasonCode: 0x8e }]);
    expect(a.out.ended).toBe(true);
  });

  it('MQTT-4.4.0-1 unacknowledged QoS 1 messages move to the new connection with DUP', () => {
    const h = harness();
    const a = h.connect(5, { clientId: 's', clean: false, properties: { sessionExpiryInterval: 60 } });
    a.in(sub('t', 1));
    const p = h.connect(5, { clientId: 'p' });
    p.in(pub('t', 'm1', 1, { packetId: 7 }));
    const first = a.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(first).toHaveLength(1);
    expect(first[0].dup).toBe(false);
    const b = h.connect(5, { clientId: 's', clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(b.connack).toMatchObject({ sessionPresent: true });
    const resent = b.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(resent).toHaveLength(1);
    expect(resent[0]).toMatchObject({ topic: 't', dup: true, packetId: first[0].packetId });
  });
});

describe('channel: PUBLISH', () => {
  it('MQTT-4.3.2 QoS 1 publish is acknowledged with PUBACK (3.1.1: no reason code)', () => {
    const h = harness();
    const s = h.connect(4);
    s.in(sub('a', 1));
    const c = h.connect(4);
    expect(c.in(pub('a', 'x', 1, { packetId: 5 }))).toEqual([{ type: 4, packetId: 5 }]);
  });

  it('MQTT5 3.4.2.1 QoS 1 publish with no subscriber gets PUBACK 0x10', () => {
    const c = harness().connect(5);
    expect(c.in(pub('nobody', 'x', 1, { packetId: 5 }))).toEqual([{ type: 4, packetId: 5, reasonCode: 0x10 }]);
  });

  it('MQTT-4.3.3 QoS 2 is delivered once even when the PUBLISH is resent before PUBREL', () => {
    const h = harness();
    const s = h.connect(5);
    s.in(sub('q2', 2));
    const c = h.connect(5);
    expect(c.in(pub('q2', 'x', 2, { packetId: 9 }))).toMatchObject([{ type: 5, packetId: 9 }]);
    expect(c.in(pub('q2', 'x', 2, { packetId: 9, dup: true }))).toMatchObject([{ type: 5, packetId: 9 }]);
    expect(s.out.take().filter((x) => x.type === 3)).toHaveLength(1);
    expect(c.in({ type: 6, packetId: 9 })).toEqual([{ type: 7, packetId: 9, reasonCode: 0 }]);
    // After PUBREL the id is free: a new PUBLISH with it is a new message.
    c.in(pub('q2', 'y', 2, { packetId: 9 }));
    expect(s.out.take().filter((x) => x.type === 3)).toHaveLength(1);
  });

  it('MQTT5 3.7.2.1 PUBREL for an unknown packet id gets PUBCOMP 0x92', () => {
    const c = harness().connect(5);
    expect(c.in({ type: 6, packetId: 77 })).toEqual([{ type: 7, packetId: 77, reasonCode: 0x92 }]);
  });

  it('MQTT-3.3.4-7 never more than the client Receive Maximum unacknowledged QoS 1 publishes', () => {
    const h = harness();
    const s = h.connect(5, { properties: { receiveMaximum: 3 } });
    s.in(sub('w', 1));
    const p = h.connect(5);
    for (let i = 1; i <= 10; i++) p.in(pub('w', `m${i}`, 1, { packetId: i }));
    let got = s.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(got.map((x) => x.payload.toString())).toEqual(['m1', 'm2', 'm3']);
    got = s.in({ type: 4, packetId: got[0].packetId! }).filter((x) => x.type === 3) as PublishPacket[];
    expect(got.map((x) => x.payload.toString())).toEqual(['m4']);
  });

  it('MQTT-3.3.4-9 a client exceeding our Receive Maximum gets DISCONNECT 0x93', () => {
    const h = harness({ mqtt: { receiveMaximum: 2 } });
    const c = h.connect(5);
    c.in(pub('x', '1', 2, { packetId: 1 }));
    c.in(pub('x', '2', 2, { packetId: 2 }));
    const out = c.in(pub('x', '3', 2, { packetId: 3 }));
    expect(out).toMatchObject([{ type: 14, reasonCode: 0x93 }]);
  });

  it('MQTT5 3.3.2.3.4 inbound topic alias: set, reuse, out of range 0x94, unknown 0x82', () => {
    const h = harness({ mqtt: { topicAliasMaximum: 4 } });
    const s = h.connect(5);
    s.in(sub('alias/t', 0));
    const c = h.connect(5);
    c.in(pub('alias/t', 'one', 0, { properties: { topicAlias: 2 } }));
    c.in(pub('', 'two', 0, { properties: { topicAlias: 2 } }));
    const got = s.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(got.map((x) => [x.topic, x.payload.toString()])).toEqual([
      ['alias/t', 'one'],
      ['alias/t', 'two'],
    ]);
    expect(c.in(pub('', 'three', 0, { properties: { topicAlias: 3 } }))).toMatchObject([{ type: 14, reasonCode: 0x82 }]);
    const d = h.connect(5);
    expect(d.in(pub('x', 'y', 0, { properties: { topicAlias: 5 } }))).toMatchObject([{ type: 14, reasonCode: 0x94 }]);
  });

  it('MQTT5 3.3.2.3.4 outbound topic aliases for clients that allow them', () => {
    const h = harness();
    const s = h.connect(5, { properties: { topicAliasMaximum: 2 } });
    s.in(sub('#', 0));
    const p = h.connect(5);
    p.in(pub('a/1', 'x'));
    p.in(pub('a/1', 'y'));
    const got = s.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(got[0]).toMatchObject({ topic: 'a/1', properties: { topicAlias: 1 } });
    expect(got[1]).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
  });

  it('MQTT-3.1.2-25 a message above the client Maximum Packet Size is not sent to it', () => {
    const h = harness();
    const small = h.connect(5, { properties: { maximumPacketSize: 64 } });
    small.in(sub('big', 1));
    const big = h.connect(5);
    big.in(sub('big', 1));
    const p = h.connect(5);
    p.in(pub('big', 'x'.repeat(200), 1, { packetId: 3 }));
    expect(small.out.take().filter((x) => x.type === 3)).toHaveLength(0);
    expect(big.out.take().filter((x) => x.type === 3)).toHaveLength(1);
    expect(h.broker.stats.dropped('packet-too-large')).toBe(1);
  });

  it('MQTT-3.3.2-5 an expired queued message is not sent; MQTT-3.3.2-6 the remaining lifetime is', () => {
    const h = harness();
    const s = h.connect(5, { clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 300 } });
    s.in(sub('e', 1));
    s.in({ type: 14, reasonCode: 0 });
    const p = h.connect(5);
    p.in(pub('e', 'short', 1, { packetId: 1, properties: { messageExpiryInterval: 5 } }));
    p.in(pub('e', 'long', 1, { packetId: 2, properties: { messageExpiryInterval: 100 } }));
    h.clock.advance(10_000);
    const back = h.connect(5, { clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = back.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(got.map((x) => x.payload.toString())).toEqual(['long']);
    expect(got[0].properties?.messageExpiryInterval).toBe(90);
    expect(h.broker.stats.dropped('expired')).toBe(1);
  });

  it('MQTT-3.3.4-2/3 overlapping subscriptions: one copy, highest QoS, every subscription identifier', () => {
    const h = harness();
    const s = h.connect(5);
    s.in({ ...sub('a/+', 0, 1), properties: { subscriptionIdentifiers: [11] } } as Packet);
    s.in({ ...sub('a/#', 1, 2), properties: { subscriptionIdentifiers: [22] } } as Packet);
    s.out.take();
    const p = h.connect(5);
    p.in(pub('a/b', 'x', 1, { packetId: 1 }));
    const got = s.out.take().filter((x) => x.type === 3) as PublishPacket[];
    expect(got).toHaveLength(1);
    expect(got[0].qos).toBe(1);
    expect(got[0].properties?.subscriptionIdentifiers?.sort()).toEqual([11, 22]);
  });

  it('MQTT-3.8.3-3 No Local: the publisher does not get its own message', () => {
    const h = harness();
    const c = h.connect(5);
    c.in(sub('self', 0, 1, { noLocal: true }));
    c.out.take();
    c.in(pub('self', 'x'));
    expect(c.out.take()).toEqual([]);
  });

  it('a publish to $SYS is refused: v5 PUBACK 0x87', () => {
    const c = harness().connect(5);
    expect(c.in(pub('$SYS/x', 'y', 1, { packetId: 4 }))).toMatchObject([{ type: 4, packetId: 4, reasonCode: 0x87 }]);
  });
});

describe('channel: will', () => {
  it('MQTT-3.1.2-8 the will is published when the connection is lost', () => {
    const h = harness();
    const s = h.connect(4);
    s.in(sub('will/#', 0));
    s.out.take();
    const c = h.connect(4, { will: { topic: 'will/c', payload: Buffer.from('gone'), qos: 0, retain: false } });
    c.ch.connectionLost('socket-closed');
    expect(s.out.take()).toMatchObject([{ type: 3, topic: 'will/c' }]);
  });

  it('MQTT-3.14.4-3 no will after DISCONNECT 0x00; MQTT5 3.14.2.1 will after DISCONNECT 0x04', () => {
    const h = harness();
    const s = h.connect(5);
    s.in(sub('will/#', 0));
    s.out.take();
    const c = h.connect(5, { will: { topic: 'will/a', payload: Buffer.from('a'), qos: 0, retain: false } });
    c.in({ type: 14, reasonCode: 0 });
    expect(s.out.take()).toEqual([]);
    const d = h.connect(5, { will: { topic: 'will/b', payload: Buffer.from('b'), qos: 0, retain: false } });
    d.in({ type: 14, reasonCode: 4 });
    expect(s.out.take()).toMatchObject([{ type: 3, topic: 'will/b' }]);
  });

  it('MQTT5 3.1.3.2.2 Will Delay: sent after the delay, cancelled by a reconnect in time', () => {
    const h = harness();
    const s = h.connect(5);
    s.in(sub('will/#', 0));
    s.out.take();
    const will = { topic: 'will/d', payload: Buffer.from('d'), qos: 0 as const, retain: false, properties: { willDelayInterval: 5 } };
    const props = { sessionExpiryInterval: 60 };
    const c = h.connect(5, { clientId: 'wd', clean: false, will, properties: props });
    c.ch.connectionLost('socket-closed');
    h.clock.advance(4_000);
    h.broker.sweep(h.clock.now());
    expect(s.out.take()).toEqual([]);
    h.clock.advance(1_500);
    h.broker.sweep(h.clock.now());
    expect(s.out.take()).toMatchObject([{ type: 3, topic: 'will/d' }]);
    // A second time, reconnecting within the delay cancels it.
    const c2 = h.connect(5, { clientId: 'wd', clean: false, will, properties: props });
    c2.ch.connectionLost('socket-closed');
    h.clock.advance(2_000);
    h.connect(5, { clientId: 'wd', clean: false, properties: props });
    h.clock.advance(10_000);
    h.broker.sweep(h.clock.now());
    expect(s.out.take()).toEqual([]);
  });

  it('MQTT-3.1.3-9 the will goes out at session end when that comes before the will delay', () => {
    const h = harness();
    const s = h.connect(5);
    s.in(sub('will/#', 0));
    s.out.take();
    const will = { topic: 'will/e', payload: Buffer.from('e'), qos: 0 as const, retain: false, properties: { willDelayInterval: 100 } };
    const c = h.connect(5, { clientId: 'we', will, properties: { sessionExpiryInterval: 2 } });
    c.ch.connectionLost('socket-closed');
    h.clock.advance(2_100);
    h.broker.sweep(h.clock.now());
    expect(s.out.take()).toMatchObject([{ type: 3, topic: 'will/e' }]);
    expect(h.broker.sessions.has('we')).toBe(false);
  });
});

describe('channel: session expiry', () => {
  it('MQTT-3.14.2-2 DISCONNECT cannot set a session expiry when CONNECT had 0', () => {
    const c = harness().connect(5);
    expect(c.in({ type: 14, reasonCode: 0, properties: { sessionExpiryInterval: 10 } })).toMatchObject([{ type: 14, reasonCode: 0x82 }]);
  });

  it('MQTT5 3.1.2.11.2 a session with expiry N is kept N seconds after disconnect, then removed', () => {
    const h = harness();
    const c = h.connect(5, { clientId: 'ex', clean: false, properties: { sessionExpiryInterval: 3 } });
    c.in(sub('k', 1));
    c.in({ type: 14, reasonCode: 0 });
    h.clock.advance(2_000);
    h.broker.sweep(h.clock.now());
    expect(h.broker.sessions.has('ex')).toBe(true);
    h.clock.advance(1_500);
    h.broker.sweep(h.clock.now());
    expect(h.broker.sessions.has('ex')).toBe(false);
    const again = h.connect(5, { clientId: 'ex', clean: false, properties: { sessionExpiryInterval: 3 } });
    expect(again.connack).toMatchObject({ sessionPresent: false });
  });

  it('MQTT5 3.2.2.3.2 a session expiry above the maximum is capped and the cap returned', () => {
    const { connack } = harness({ mqtt: { maxSessionExpiryS: 100 } }).connect(5, { properties: { sessionExpiryInterval: 0xffffffff } });
    expect(connack).toMatchObject({ properties: { sessionExpiryInterval: 100 } });
  });
});

describe('channel: backpressure', () => {
  it('a publisher stops reading while a reading subscriber is congested, and resumes when it drains', () => {
    const h = harness();
    const s = h.connect(4);
    s.in(sub('bp', 0));
    const p = h.connect(4);
    s.out.pressureState = 'congested';
    expect(p.ch.handleIn(pub('bp', 'x'), h.clock.now())).toBe(false);
    expect(h.broker.stats.backpressurePauses).toBe(1);
    s.out.pressureState = 'ok';
    s.ch.session!.maybeRelease();
    expect(p.out.resumed).toBe(1);
  });

  it('a stalled subscriber does not hold publishers back and its QoS 0 traffic is dropped, counted', () => {
    const h = harness();
    const s = h.connect(4);
    s.in(sub('st', 0));
    s.out.take();
    const p = h.connect(4);
    s.out.pressureState = 'stalled';
    expect(p.ch.handleIn(pub('st', 'x'), h.clock.now())).toBe(true);
    expect(s.out.take()).toEqual([]);
    expect(h.broker.stats.dropped('slow-consumer')).toBe(1);
  });

  it('an online subscriber whose queue passes its bound is disconnected with 0x97', () => {
    const h = harness({ session: { maxQueuedMessages: 5 } });
    const s = h.connect(5, { properties: { receiveMaximum: 1 } });
    s.in(sub('q', 1));
    const p = h.connect(5);
    for (let i = 1; i <= 8; i++) p.in(pub('q', `m${i}`, 1, { packetId: i }));
    expect(s.out.take().some((x) => x.type === 14 && (x as { reasonCode: number }).reasonCode === 0x97)).toBe(true);
    expect(h.broker.stats.slowConsumersDisconnected).toBe(1);
  });
});
