/**
 * The Store contract (src/ports/store.ts), run against every adapter: memory, sqlite, and
 * later nats. Adapter-agnostic: it uses the port only. Each adapter file passes a factory
 * that gives a fresh opened store and a way to reopen it on the same data ("close, then a
 * new instance on the same file" for sqlite; "close, then open the same instance" for
 * memory, which only survives within a process).
 *
 * "Durable" below means: after awaiting the flush() barrier (or it returned undefined),
 * a reopened store returns the write.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Properties } from '../../../src/codec/mqtt/packets.js';
import type {
  DeliveryRecord,
  SessionSnapshot,
  Store,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../../../src/ports/store.js';

export interface StoreHarness {
  /** A fresh, opened, empty store. */
  readonly store: Store;
  /** Closes the current store and returns one opened on the same data. */
  reopen(): Promise<Store>;
  /** Closes whatever is open and removes the data. */
  dispose(): Promise<void>;
}

export type MakeStore = () => Promise<StoreHarness>;

// ---- builders ------------------------------------------------------------------------

const T0 = 1_700_000_000_000;

export function message(id: number, over: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    topic: `t/${id}`,
    payload: Buffer.from(`payload-${id}`),
    qos: 1,
    retain: false,
    properties: undefined,
    expiresAt: 0,
    publisherId: 'pub',
    createdAt: T0 + id,
    ...over,
  };
}

export function delivery(seq: number, messageId: number, over: Partial<StoredDelivery> = {}): StoredDelivery {
  return {
    seq,
    messageId,
    qos: 1,
    retain: false,
    subscriptionIds: undefined,
    shareKey: undefined,
    packetId: undefined,
    pubrel: false,
    ...over,
  };
}

export function session(clientId: string, over: Partial<StoredSession> = {}): StoredSession {
  return { clientId, protocolVersion: 5, expiryIntervalS: 3600, disconnectedAt: T0, username: 'user', ...over };
}

export function subscription(filter: string, over: Partial<StoredSubscription> = {}): StoredSubscription {
  return { filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, ...over };
}

/** Every property a stored message can carry, binary and repeated user properties included. */
export const RICH_PROPERTIES: Properties = {
  payloadFormatIndicator: 1,
  contentType: 'application/json; charset=utf-8',
  responseTopic: 'reply/to/me',
  correlationData: Buffer.from([0x00, 0xff, 0x10, 0x7b, 0x22]),
  userProperties: [
    ['k', 'v1'],
    ['k', 'v2'],
    ['ünï', '✓ {"json":"like"}'],
    ['$b64', 'not binary'],
  ],
};

/** The writes so far are durable (awaits the barrier when there is one). */
export async function settle(store: Store): Promise<void> {
  const p = store.flush();
  if (p !== undefined) await p;
}

export async function sessionsOf(store: Store, window = 1_000_000): Promise<Map<string, SessionSnapshot>> {
  const out = new Map<string, SessionSnapshot>();
  for await (const s of store.loadSessions(window)) out.set(s.session.clientId, s);
  return out;
}

export async function retainedOf(store: Store): Promise<Map<string, StoredMessage>> {
  const out = new Map<string, StoredMessage>();
  for await (const m of store.loadRetained()) out.set(m.topic, m);
  return out;
}

/** Every stored delivery of a session, inflight and queued: what a restart with an unlimited window sees. */
async function deliveriesOf(store: Store, clientId: string): Promise<readonly DeliveryRecord[]> {
  return (await sessionsOf(store)).get(clientId)?.deliveries ?? [];
}

/** The queued deliveries (no packet id), paged the way a draining session reads them back. */
async function allQueued(store: Store, clientId: string, page = 7): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  let after = 0;
  for (;;) {
    const rows = await store.loadDeliveries(clientId, after, page);
    expect(rows.length).toBeLessThanOrEqual(page);
    if (rows.length === 0) return out;
    out.push(...rows);
    after = rows[rows.length - 1].delivery.seq;
  }
}

const bySeq = (rows: readonly DeliveryRecord[]): number[] => rows.map((r) => r.delivery.seq);

// ---- the suite -------------------------------------------------------------------------

export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness | undefined;
    let store: Store;

    async function fresh(): Promise<Store> {
      h = await makeStore();
      store = h.store;
      return store;
    }

    /** flush, reopen, and use the reopened store from now on. */
    async function durableReopen(): Promise<Store> {
      await settle(store);
      store = await h!.reopen();
      return store;
    }

    afterEach(async () => {
      await h?.dispose();
      h = undefined;
    });

    it('a fresh store is empty, healthy and has nothing to flush', async () => {
      await fresh();
      expect(typeof store.kind).toBe('string');
      expect(store.kind.length).toBeGreaterThan(0);
      expect(store.health()).toEqual({ ok: true });
      expect(store.flush()).toBeUndefined();
      expect((await sessionsOf(store)).size).toBe(0);
      expect((await retainedOf(store)).size).toBe(0);
      expect(await store.loadDeliveries('nobody', 0, 10)).toEqual([]);
      expect(store.lastMessageId()).toBe(0);
      expect(await store.purge(T0, 100)).toBe(0);
    });

    it('sessions: every field round-trips through a reopen; putSession again updates in place', async () => {
      await fresh();
      const a = session('a', { protocolVersion: 5, expiryIntervalS: 0xffffffff, disconnectedAt: T0 + 5, username: 'ünï' });
      const b = session('b', { protocolVersion: 4, expiryIntervalS: 1, disconnectedAt: undefined, username: undefined });
      const c = session('client/with spaces+#', { protocolVersion: 3 });
      store.putSession(a);
      store.putSession(b);
      store.putSession(c);
      await durableReopen();
      let got = await sessionsOf(store);
      expect([...got.keys()].sort()).toEqual(['a', 'b', 'client/with spaces+#']);
      expect(got.get('a')!.session).toEqual(a);
      expect(got.get('b')!.session).toEqual(b);
      expect(got.get('client/with spaces+#')!.session).toEqual(c);

      const a2 = session('a', { expiryIntervalS: 60, disconnectedAt: undefined, username: undefined, protocolVersion: 4 });
      store.putSession(a2);
      await durableReopen();
      got = await sessionsOf(store);
      expect(got.size).toBe(3);
      expect(got.get('a')!.session).toEqual(a2);
    });

    it('subscriptions: options, subscription ids and shared filters round-trip; same filter replaces; delete removes one', async () => {
      await fresh();
      store.putSession(session('s'));
      const subs = [
        subscription('a/+/c', { qos: 0, noLocal: true, retainAsPublished: false, retainHandling: 2, subscriptionId: 1 }),
        subscription('#', { qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 1, subscriptionId: 268_435_455 }),
        subscription('$share/grp/x/#', { qos: 1, subscriptionId: undefined }),
        subscription('gone', { qos: 1 }),
      ];
      for (const sub of subs) store.putSubscription('s', sub);
      const replaced = subscription('a/+/c', { qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 77 });
      store.putSubscription('s', replaced);
      store.deleteSubscription('s', 'gone');
      store.deleteSubscription('s', 'never-existed');
      await durableReopen();
      const got = (await sessionsOf(store)).get('s')!;
      const byFilter = new Map(got.subscriptions.map((x) => [x.filter, x]));
      expect(byFilter.size).toBe(3);
      expect(byFilter.get('a/+/c')).toEqual(replaced);
      expect(byFilter.get('#')).toEqual(subs[1]);
      expect(byFilter.get('$share/grp/x/#')).toEqual(subs[2]);
    });

    it('deliveries: messages (payload bytes, properties with Buffers and user properties) and delivery fields round-trip', async () => {
      await fresh();
      store.putSession(session('s'));
      const binary = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x00, 0x80]);
      const m1 = message(1, { payload: binary, qos: 2, retain: true, properties: RICH_PROPERTIES, expiresAt: T0 + 60_000 });
      const m2 = message(2, { payload: Buffer.alloc(0), qos: 0, properties: undefined, publisherId: undefined, topic: 'ü/ñ/✓' });
      const m3 = message(3, { properties: { userProperties: [['only', 'user']] } });
      const d1 = delivery(1, 1, { qos: 2, retain: true, subscriptionIds: [1, 268_435_455], shareKey: 'grp/x/#', packetId: 65_535, pubrel: true });
      const d2 = delivery(2, 2, { qos: 0 });
      const d3 = delivery(3, 3, { qos: 1, packetId: 1, subscriptionIds: [42] });
      store.putDelivery('s', d1, m1);
      store.putDelivery('s', d2, m2);
      store.putDelivery('s', d3, m3);
      await durableReopen();
      const rows = await deliveriesOf(store, 's');
      expect(bySeq(rows)).toEqual([1, 2, 3]);
      expect(rows[0].delivery).toEqual(d1);
      expect(rows[0].message).toEqual(m1);
      expect(Buffer.isBuffer(rows[0].message.payload)).toBe(true);
      expect(Buffer.isBuffer(rows[0].message.properties!.correlationData)).toBe(true);
      expect(rows[0].message.properties!.correlationData!.equals(RICH_PROPERTIES.correlationData!)).toBe(true);
      expect(rows[1].delivery).toEqual(d2);
      expect(rows[1].message).toEqual(m2);
      expect(rows[1].message.payload.length).toBe(0);
      expect(rows[2].delivery).toEqual(d3);
      expect(rows[2].message).toEqual(m3);
      expect(store.lastMessageId()).toBe(3);
    });

    it('updateDelivery records the packet id, then the PUBREL stage, and can return a delivery to queued', async () => {
      await fresh();
      store.putSession(session('s'));
      store.putDelivery('s', delivery(1, 10, { qos: 2 }), message(10, { qos: 2 }));
      store.putDelivery('s', delivery(2, 11, { qos: 1 }), message(11));
      await durableReopen();
      store.updateDelivery('s', 1, 7, false);
      store.updateDelivery('s', 2, 8, false);
      await durableReopen();
      let rows = await deliveriesOf(store, 's');
      expect(rows.map((r) => [r.delivery.packetId, r.delivery.pubrel])).toEqual([
        [7, false],
        [8, false],
      ]);
      store.updateDelivery('s', 1, 7, true);
      store.updateDelivery('s', 2, undefined, false);
      store.updateDelivery('s', 99, 1, true); // unknown seq: no effect
      await durableReopen();
      rows = await deliveriesOf(store, 's');
      expect(rows.map((r) => [r.delivery.seq, r.delivery.packetId, r.delivery.pubrel])).toEqual([
        [1, 7, true],
        [2, undefined, false],
      ]);
      expect(rows[0].message).toEqual(message(10, { qos: 2 }));
    });

    it('a message shared by several sessions is stored once and stays while any delivery refers to it', async () => {
      await fresh();
      const shared = message(5, { properties: RICH_PROPERTIES });
      for (const id of ['a', 'b', 'c']) {
        store.putSession(session(id));
        store.putDelivery(id, delivery(1, 5), shared);
      }
      await durableReopen();
      store.deleteDelivery('a', 1);
      store.deleteSession('b');
      await durableReopen();
      await store.purge(T0 + 10 ** 9, 1000); // unreferenced messages may go; this one is referenced by c
      expect(await store.loadDeliveries('a', 0, 10)).toEqual([]);
      expect(await store.loadDeliveries('b', 0, 10)).toEqual([]);
      const c = await store.loadDeliveries('c', 0, 10);
      expect(c).toHaveLength(1);
      expect(c[0].message).toEqual(shared);
    });

    it('deleteDelivery removes exactly one delivery; unknown ones are ignored', async () => {
      await fresh();
      store.putSession(session('s'));
      for (let i = 1; i <= 5; i++) store.putDelivery('s', delivery(i, i), message(i));
      await durableReopen();
      store.deleteDelivery('s', 2);
      store.deleteDelivery('s', 4);
      store.deleteDelivery('s', 404);
      store.deleteDelivery('nobody', 1);
      await durableReopen();
      expect(bySeq(await deliveriesOf(store, 's'))).toEqual([1, 3, 5]);
    });

    it('inbound QoS 2 packet ids awaiting PUBREL round-trip; delete removes one; a repeated put is harmless', async () => {
      await fresh();
      store.putSession(session('s'));
      for (const id of [1, 65_535, 7, 300]) store.putInboundQos2('s', id);
      store.putInboundQos2('s', 7);
      store.deleteInboundQos2('s', 300);
      store.deleteInboundQos2('s', 12_345);
      await durableReopen();
      const got = (await sessionsOf(store)).get('s')!;
      expect([...got.inboundQos2].sort((x, y) => x - y)).toEqual([1, 7, 65_535]);
    });

    it('retained: every field round-trips, a topic is replaced by a newer message, delete removes it', async () => {
      await fresh();
      const r1 = message(1, { topic: 'r/a', retain: true, qos: 2, properties: RICH_PROPERTIES, expiresAt: T0 + 10 ** 9, payload: Buffer.from([0, 1, 2]) });
      const r2 = message(2, { topic: 'r/b', retain: true, qos: 0, publisherId: undefined });
      const r1b = message(3, { topic: 'r/a', retain: true, qos: 1, payload: Buffer.from('newer') });
      const r4 = message(4, { topic: 'r/gone', retain: true });
      store.putRetained(r1);
      store.putRetained(r2);
      store.putRetained(r4);
      await durableReopen();
      let got = await retainedOf(store);
      expect(got.get('r/a')).toEqual(r1);
      expect(Buffer.isBuffer(got.get('r/a')!.properties!.correlationData)).toBe(true);
      store.putRetained(r1b);
      store.deleteRetained('r/gone');
      store.deleteRetained('r/never');
      await durableReopen();
      got = await retainedOf(store);
      expect([...got.keys()].sort()).toEqual(['r/a', 'r/b']);
      expect(got.get('r/a')).toEqual(r1b);
      expect(got.get('r/b')).toEqual(r2);
    });

    it('wills: topic, payload, QoS, retain, properties (delay, Buffers, user properties) and due time round-trip; replace; delete', async () => {
      await fresh();
      store.putSession(session('w'));
      store.putSession(session('x'));
      const will: StoredWill = {
        topic: 'wills/w',
        payload: Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]),
        qos: 2,
        retain: true,
        properties: { ...RICH_PROPERTIES, willDelayInterval: 30, messageExpiryInterval: 120 },
        fireAt: T0 + 30_000,
      };
      const other: StoredWill = { topic: 'wills/x', payload: Buffer.from('bye'), qos: 0, retain: false, properties: undefined, fireAt: T0 };
      store.putWill('w', { ...will, topic: 'replaced-below' });
      store.putWill('w', will);
      store.putWill('x', other);
      await durableReopen();
      let got = await sessionsOf(store);
      expect(got.get('w')!.will).toEqual(will);
      expect(got.get('x')!.will).toEqual(other);
      store.deleteWill('x');
      await durableReopen();
      got = await sessionsOf(store);
      expect(got.get('x')!.will).toBeUndefined();
      expect(got.get('w')!.will).toEqual(will);
    });

    it('flush barrier: once it resolves (or returns undefined) every earlier write survives a reopen; with nothing new it returns undefined', async () => {
      await fresh();
      store.putSession(session('s'));
      for (let i = 1; i <= 50; i++) store.putDelivery('s', delivery(i, i), message(i));
      store.putRetained(message(51, { topic: 'r', retain: true }));
      const first = store.flush();
      const second = store.flush(); // same turn: a second barrier for the same writes
      if (first !== undefined) await expect(first).resolves.toBeUndefined();
      if (second !== undefined) await expect(second).resolves.toBeUndefined();
      expect(store.flush()).toBeUndefined(); // nothing written since
      store = await h!.reopen();
      expect(bySeq(await deliveriesOf(store, 's'))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await retainedOf(store)).has('r')).toBe(true);
    });

    it('reads see writes made just before them, without a flush', async () => {
      await fresh();
      store.putSession(session('s'));
      store.putSubscription('s', subscription('f'));
      store.putDelivery('s', delivery(1, 1), message(1));
      store.putInboundQos2('s', 9);
      store.putRetained(message(2, { topic: 'r', retain: true }));
      expect(bySeq(await store.loadDeliveries('s', 0, 10))).toEqual([1]); // queued: no packet id
      const snap = (await sessionsOf(store)).get('s')!;
      expect(snap.subscriptions.map((x) => x.filter)).toEqual(['f']);
      expect(snap.inboundQos2).toEqual([9]);
      expect((await retainedOf(store)).has('r')).toBe(true);
      expect(store.lastMessageId()).toBe(2);
    });

    it('loadSessions(window) gives every inflight delivery plus the first queued ones in seq order, counts the rest and the last seq; loadDeliveries pages through the queue in seq order', async () => {
      await fresh();
      store.putSession(session('long'));
      store.putSession(session('short'));
      store.putSession(session('empty'));
      // Written out of order, with gaps: seq = 3 * k for k = 1..25 (shuffled).
      const ks = Array.from({ length: 25 }, (_, i) => i + 1);
      for (let i = ks.length - 1; i > 0; i--) {
        const j = (i * 7919) % (i + 1);
        [ks[i], ks[j]] = [ks[j], ks[i]];
      }
      for (const k of ks) store.putDelivery('long', delivery(3 * k, 100 + k, k <= 3 ? { packetId: k } : {}), message(100 + k));
      store.putDelivery('short', delivery(1, 200), message(200));
      store.putDelivery('short', delivery(2, 201), message(201));
      await durableReopen();
      const expected = Array.from({ length: 25 }, (_, i) => 3 * (i + 1));

      // Window 10 limits the queue only: the 3 inflight ones (seq 3, 6, 9) come on top.
      const snaps = await sessionsOf(store, 10);
      const long = snaps.get('long')!;
      expect(bySeq(long.deliveries)).toEqual(expected.slice(0, 13));
      expect(long.deliveries.filter((r) => r.delivery.packetId !== undefined).map((r) => r.delivery.seq)).toEqual([3, 6, 9]);
      expect(long.moreDeliveries).toBe(12);
      expect(long.lastSeq).toBe(75);
      expect(long.deliveries.map((r) => r.message.id)).toEqual(expected.slice(0, 13).map((s) => 100 + s / 3));
      expect(bySeq(snaps.get('short')!.deliveries)).toEqual([1, 2]);
      expect(snaps.get('short')!.moreDeliveries).toBe(0);
      expect(snaps.get('short')!.lastSeq).toBe(2);
      expect(snaps.get('empty')!.deliveries).toEqual([]);
      expect(snaps.get('empty')!.moreDeliveries).toBe(0);
      expect(snaps.get('empty')!.lastSeq).toBe(0);

      // The rest, from after the last seq of the window, in pages of 7.
      const rest: DeliveryRecord[] = [];
      let after = long.deliveries[long.deliveries.length - 1].delivery.seq;
      for (;;) {
        const page = await store.loadDeliveries('long', after, 7);
        expect(page.length).toBeLessThanOrEqual(7);
        if (page.length === 0) break;
        rest.push(...page);
        after = page[page.length - 1].delivery.seq;
      }
      expect(bySeq(rest)).toEqual(expected.slice(13));
      expect(rest.every((r) => r.message.id === 100 + r.delivery.seq / 3)).toBe(true);
      // Starting in a gap and with a limit of 1.
      expect(bySeq(await store.loadDeliveries('long', 10, 1))).toEqual([12]);
      expect(await store.loadDeliveries('long', 75, 10)).toEqual([]);
      expect(bySeq(await allQueued(store, 'long'))).toEqual(expected.slice(3));

      const all = await sessionsOf(store, 100);
      expect(all.get('long')!.moreDeliveries).toBe(0);
      expect(bySeq(all.get('long')!.deliveries)).toEqual(expected);
    });

    it('deleteSession removes the session and everything it owns; a new session with the same id starts empty', async () => {
      await fresh();
      for (const id of ['a', 'b']) {
        store.putSession(session(id));
        store.putSubscription(id, subscription(`${id}/#`, { subscriptionId: 3 }));
        store.putDelivery(id, delivery(1, id === 'a' ? 1 : 2, { packetId: 4 }), message(id === 'a' ? 1 : 2));
        store.putDelivery(id, delivery(2, 3), message(3));
        store.putInboundQos2(id, 11);
        store.putWill(id, { topic: `w/${id}`, payload: Buffer.from('x'), qos: 1, retain: false, properties: undefined, fireAt: T0 });
      }
      await durableReopen();
      store.deleteSession('a');
      store.deleteSession('nobody');
      await durableReopen();
      let snaps = await sessionsOf(store);
      expect([...snaps.keys()]).toEqual(['b']);
      expect(bySeq(snaps.get('b')!.deliveries)).toEqual([1, 2]);
      expect(snaps.get('b')!.subscriptions).toHaveLength(1);
      expect(snaps.get('b')!.will).toBeDefined();
      expect(await store.loadDeliveries('a', 0, 10)).toEqual([]);

      store.putSession(session('a', { username: 'again' }));
      await durableReopen();
      snaps = await sessionsOf(store);
      const a = snaps.get('a')!;
      expect(a.session.username).toBe('again');
      expect(a.subscriptions).toEqual([]);
      expect(a.deliveries).toEqual([]);
      expect(a.moreDeliveries).toBe(0);
      expect(a.inboundQos2).toEqual([]);
      expect(a.will).toBeUndefined();
    });

    it('deleteSession in the same batch as its writes leaves nothing behind', async () => {
      await fresh();
      store.putSession(session('tmp'));
      store.putSubscription('tmp', subscription('x'));
      store.putDelivery('tmp', delivery(1, 1), message(1));
      store.putInboundQos2('tmp', 2);
      store.putWill('tmp', { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false, properties: undefined, fireAt: T0 });
      store.deleteSession('tmp');
      store.putSession(session('tmp'));
      await durableReopen();
      const s = (await sessionsOf(store)).get('tmp')!;
      expect(s.subscriptions).toEqual([]);
      expect(s.deliveries).toEqual([]);
      expect(s.inboundQos2).toEqual([]);
      expect(s.will).toBeUndefined();
    });

    it('lastMessageId is the highest message id stored (deliveries or retained), survives a reopen, and never goes back', async () => {
      await fresh();
      store.putSession(session('s'));
      store.putDelivery('s', delivery(1, 17), message(17));
      store.putRetained(message(40, { topic: 'r', retain: true }));
      store.putDelivery('s', delivery(2, 23), message(23));
      await settle(store);
      expect(store.lastMessageId()).toBe(40);
      await durableReopen();
      expect(store.lastMessageId()).toBe(40);
      store.putRetained(message(41, { topic: 'r', retain: true }));
      await durableReopen();
      expect(store.lastMessageId()).toBe(41);
      // "The highest message id ever stored (ids continue after it)": removing what holds
      // the highest ids must not make the store hand out lower ids after a restart.
      store.deleteRetained('r');
      store.deleteDelivery('s', 1);
      store.deleteDelivery('s', 2);
      await settle(store);
      while ((await store.purge(T0 + 10 ** 12, 1000)) > 0);
      await durableReopen();
      expect(store.lastMessageId()).toBeGreaterThanOrEqual(41);
    });

    it('MQTT-3.3.2-5 purge removes expired queued deliveries in batches of at most `limit`; inflight, unexpired and never-expiring stay', async () => {
      await fresh();
      store.putSession(session('s'));
      const now = T0 + 100_000;
      let seq = 0;
      const keep: number[] = [];
      // 23 expired queued, 2 expired but inflight (a packet id: the exchange must complete), 5 unexpired, 5 never expire.
      for (let i = 0; i < 23; i++) store.putDelivery('s', delivery(++seq, seq), message(seq, { expiresAt: now - 1 - i }));
      for (let i = 0; i < 2; i++) {
        store.putDelivery('s', delivery(++seq, seq, { packetId: i + 1 }), message(seq, { expiresAt: now - 10 }));
        keep.push(seq);
      }
      for (let i = 0; i < 5; i++) {
        store.putDelivery('s', delivery(++seq, seq), message(seq, { expiresAt: now + 1 + i }));
        keep.push(seq);
      }
      for (let i = 0; i < 5; i++) {
        store.putDelivery('s', delivery(++seq, seq), message(seq, { expiresAt: 0 }));
        keep.push(seq);
      }
      const expiredExact = message(++seq, { expiresAt: now }); // expiresAt <= now is expired
      store.putDelivery('s', delivery(seq, seq), expiredExact);
      await durableReopen();

      let left = (await deliveriesOf(store, 's')).length;
      expect(left).toBe(36);
      let rounds = 0;
      for (;;) {
        const n = await store.purge(now, 5);
        const after = (await deliveriesOf(store, 's')).length;
        expect(left - after).toBeLessThanOrEqual(5); // at most `limit` deliveries per call
        if (after < left) expect(n).toBeGreaterThanOrEqual(left - after);
        if (n === 0) break;
        left = after;
        if (++rounds > 20) throw new Error('purge did not converge');
      }
      expect(rounds).toBeGreaterThanOrEqual(5); // 24 expired rows need at least 5 calls of 5
      await durableReopen();
      const rows = await deliveriesOf(store, 's');
      expect(bySeq(rows)).toEqual(keep);
      expect(rows.every((r) => r.message.id === r.delivery.seq)).toBe(true);
    });

    it('purge never removes retained messages that have not expired (or never expire)', async () => {
      await fresh();
      const now = T0 + 50_000;
      store.putRetained(message(1, { topic: 'r/never', retain: true, expiresAt: 0 }));
      store.putRetained(message(2, { topic: 'r/later', retain: true, expiresAt: now + 1 }));
      await settle(store);
      while ((await store.purge(now, 100)) > 0);
      await durableReopen();
      expect([...(await retainedOf(store)).keys()].sort()).toEqual(['r/later', 'r/never']);
    });

    it('putMeta / getMeta: opaque binary values by key, visible before a flush, replaced by a later put, durable across a reopen', async () => {
      await fresh();
      expect(await store.getMeta('slo/none')).toBeUndefined();
      const v1 = Buffer.from([0x00, 0xff, 0x01, 0x80]);
      store.putMeta('slo/windows', v1);
      store.putMeta('other/key', Buffer.from('x'));
      v1[0] = 0x7f; // the store keeps its own copy
      expect((await store.getMeta('slo/windows'))?.equals(Buffer.from([0x00, 0xff, 0x01, 0x80]))).toBe(true);
      await durableReopen();
      expect((await store.getMeta('slo/windows'))?.equals(Buffer.from([0x00, 0xff, 0x01, 0x80]))).toBe(true);
      store.putMeta('slo/windows', Buffer.alloc(3000, 0xab));
      await durableReopen();
      expect((await store.getMeta('slo/windows'))?.equals(Buffer.alloc(3000, 0xab))).toBe(true);
      expect((await store.getMeta('other/key'))?.toString()).toBe('x');
    });

    it('stats(): integer counters that never go back, and a commit latency histogram or undefined', async () => {
      await fresh();
      const a = store.stats();
      for (const k of ['commits', 'commitFailures', 'rowsWritten'] as const) {
        expect(Number.isInteger(a[k])).toBe(true);
        expect(a[k]).toBeGreaterThanOrEqual(0);
      }
      store.putSession(session('s'));
      store.putDelivery('s', delivery(1, 1), message(1));
      await settle(store);
      const b = store.stats();
      expect(b.commits).toBeGreaterThanOrEqual(a.commits);
      expect(b.rowsWritten).toBeGreaterThanOrEqual(a.rowsWritten);
      expect(b.commitFailures).toBe(a.commitFailures);
      expect(b.commitLatency === undefined || typeof b.commitLatency === 'object').toBe(true);
    });

    it('health listeners can be registered; a healthy store does not call them', async () => {
      await fresh();
      const calls: unknown[] = [];
      store.onHealthChange((x) => calls.push(x));
      store.putSession(session('s'));
      await settle(store);
      expect(store.health()).toEqual({ ok: true });
      expect(calls).toEqual([]);
    });
  });
}
