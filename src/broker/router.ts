/**
 * Routes one published message to the sessions whose subscriptions match it.
 *
 * - One copy per session, at the highest granted QoS of its matching subscriptions,
 *   carrying every matching Subscription Identifier (MQTT5 3.3.4, MQTT-3.3.4-2/3).
 * - No Local subscriptions skip the publisher's own messages (MQTT-3.8.3-3).
 * - Each matching shared subscription ($share/group/filter) sends one more copy to exactly
 *   one of its members, round robin among those that can take it (MQTT5 4.8.2).
 *
 * Merging is done with scratch fields stamped on the session objects, so routing a
 * message allocates nothing beyond the deliveries themselves.
 */
import type { QoS } from '../codec/mqtt/packets.js';
import type { StoredSubscription } from '../ports/store.js';
import {
  RetainedIndex,
  SharedGroups,
  SubscriptionTrie,
  parseSharedFilter,
  sharedGroupOfKey,
  sharedTrieKey,
} from './routing/index.js';
import type { Message } from './session/message.js';
import type { Session } from './session/session.js';
import type { PressureWaiter } from './session/session-sink.js';

export interface SubRef {
  readonly session: Session;
  readonly sub: StoredSubscription;
}

/** Per-session scratch state for merging overlapping subscriptions during one route(). */
interface MergeState {
  stamp: number;
  qos: QoS;
  retainAsPublished: boolean;
  subIds: number[] | undefined;
}

const merges = new WeakMap<Session, MergeState>();

export interface RouteOutcome {
  /** Sessions that received a copy (or had it queued). */
  matched: number;
  /** Online sessions whose queue passed its bound: to be disconnected as slow consumers. */
  overflowed: Session[] | undefined;
}

/** The trie visitor: collects sessions (merging overlapping subscriptions) and shared groups. */
function visit(key: string, ref: SubRef | null, filter: string, r: Router): void {
  if (ref === null) {
    const group = sharedGroupOfKey(key)!;
    r.sharedGroupHits.push(group);
    r.sharedFilterHits.push(filter);
    return;
  }
  const { session, sub } = ref;
  if (sub.noLocal && r.current!.publisherId === session.clientId) return; // MQTT-3.8.3-3
  let m = merges.get(session);
  if (m === undefined) {
    m = { stamp: 0, qos: 0, retainAsPublished: false, subIds: undefined };
    merges.set(session, m);
  }
  if (m.stamp !== r.stamp) {
    m.stamp = r.stamp;
    m.qos = sub.qos;
    m.retainAsPublished = sub.retainAsPublished;
    m.subIds = sub.subscriptionId !== undefined ? [sub.subscriptionId] : undefined;
    r.hits.push(session);
  } else {
    if (sub.qos > m.qos) m.qos = sub.qos;
    if (sub.retainAsPublished) m.retainAsPublished = true;
    if (sub.subscriptionId !== undefined) (m.subIds ??= []).push(sub.subscriptionId);
  }
}

export class Router {
  /** Ordinary subscriptions map to their SubRef; a shared group's filter maps to null (SharedGroups has the members). */
  readonly trie = new SubscriptionTrie<SubRef | null>();
  readonly shared = new SharedGroups<SubRef>();
  readonly retained = new RetainedIndex<Message>();
  stamp = 0;
  /** The message being routed (for the visitor). */
  current: Message | undefined;
  readonly hits: Session[] = [];
  readonly sharedGroupHits: string[] = [];
  readonly sharedFilterHits: string[] = [];

  /** Adds or replaces a subscription (MQTT-3.8.4-3). Returns true if it existed. */
  add(session: Session, sub: StoredSubscription): boolean {
    const existed = session.putSubscription(sub);
    this.index(session, sub);
    return existed;
  }

  /** Removes a subscription. Returns true if it existed. */
  remove(session: Session, filter: string): boolean {
    if (!session.deleteSubscription(filter)) return false;
    this.unindex(session.clientId, filter);
    return true;
  }

  /** Removes every subscription of a session from the index (session end); the session keeps its list. */
  unindexAll(session: Session): void {
    for (const filter of session.subscriptions.keys()) this.unindex(session.clientId, filter);
  }

  /** Puts a restored session's subscriptions back in the index. */
  indexAll(session: Session): void {
    for (const sub of session.subscriptions.values()) this.index(session, sub);
  }

  private index(session: Session, sub: StoredSubscription): void {
    const ref: SubRef = { session, sub };
    const shared = parseSharedFilter(sub.filter);
    if (shared !== null && shared !== 'invalid') {
      this.shared.join(shared.group, shared.filter, session.clientId, ref);
      if (this.trie.get(shared.filter, sharedTrieKey(shared.group)) === undefined) {
        this.trie.add(shared.filter, sharedTrieKey(shared.group), null);
      }
    } else {
      this.trie.add(sub.filter, session.clientId, ref);
    }
  }

  private unindex(clientId: string, filter: string): void {
    const shared = parseSharedFilter(filter);
    if (shared !== null && shared !== 'invalid') {
      if (this.shared.leave(shared.group, shared.filter, clientId) && !this.shared.has(shared.group, shared.filter)) {
        this.trie.remove(shared.filter, sharedTrieKey(shared.group));
      }
    } else {
      this.trie.remove(filter, clientId);
    }
  }

  /**
   * Delivers `msg` to every matching session. `waiter` (the publishing connection) is
   * slowed down by congested subscribers; never by its own session.
   */
  route(msg: Message, waiter: PressureWaiter | undefined): RouteOutcome {
    this.stamp++;
    this.current = msg;
    this.hits.length = 0;
    this.sharedGroupHits.length = 0;
    this.sharedFilterHits.length = 0;
    this.trie.match(msg.topic, visit, this);
    this.current = undefined;
    const hits = this.hits;
    const groups = this.sharedGroupHits;
    const filters = this.sharedFilterHits;

    let overflowed: Session[] | undefined;
    let matched = 0;
    for (let i = 0; i < hits.length; i++) {
      const session = hits[i];
      const m = merges.get(session)!;
      const qos = (msg.qos < m.qos ? msg.qos : m.qos) as QoS;
      const retain = m.retainAsPublished && msg.retain; // MQTT-3.3.1-12/13
      const w = session.clientId === msg.publisherId ? undefined : waiter;
      const r = session.offer(msg, qos, retain, m.subIds, undefined, w);
      if (r === 'overflow') (overflowed ??= []).push(session);
      matched++;
    }
    hits.length = 0;

    for (let i = 0; i < groups.length; i++) {
      const member = this.pickMember(groups[i], filters[i], undefined);
      if (member === undefined) continue;
      if (this.offerShared(member, groups[i], filters[i], msg, waiter) === 'overflow') {
        (overflowed ??= []).push(member.session);
      }
      matched++;
    }
    return { matched, overflowed };
  }

  /**
   * Sends a shared-subscription message that a departing member did not acknowledge to
   * another member of the same group (MQTT5 4.8.2). False if no other member exists.
   */
  redistribute(msg: Message, shareKey: string, from: Session): boolean {
    const slash = shareKey.indexOf('/');
    const group = shareKey.slice(0, slash);
    const filter = shareKey.slice(slash + 1);
    const member = this.pickMember(group, filter, from);
    if (member === undefined) return false;
    this.offerShared(member, group, filter, msg, undefined);
    return true;
  }

  private pickMember(group: string, filter: string, exclude: Session | undefined): SubRef | undefined {
    // Prefer members that are online and not stalled; fall back to any (an offline persistent member queues it).
    const online = this.shared.pick(group, filter, (_k, ref: SubRef, ex: Session | undefined) => {
      if (ref.session === ex) return false;
      const sink = ref.session.sink;
      return sink !== null && sink.pressure() !== 'stalled';
    }, exclude);
    if (online !== undefined) return online.value;
    return this.shared.pick(group, filter, (_k, ref: SubRef, ex: Session | undefined) => ref.session !== ex, exclude)
      ?.value;
  }

  private offerShared(ref: SubRef, group: string, filter: string, msg: Message, waiter: PressureWaiter | undefined) {
    const { session, sub } = ref;
    const qos = (msg.qos < sub.qos ? msg.qos : sub.qos) as QoS;
    const retain = sub.retainAsPublished && msg.retain;
    const subIds = sub.subscriptionId !== undefined ? [sub.subscriptionId] : undefined;
    const w = session.clientId === msg.publisherId ? undefined : waiter;
    return session.offer(msg, qos, retain, subIds, `${group}/${filter}`, w);
  }
}
