/**
 * Shared subscription groups (MQTT5 4.8.2): the members of each (ShareName, filter) pair,
 * and the choice of the one member that receives each matching message.
 *
 * How the broker combines this with the SubscriptionTrie: the trie holds ONE entry per
 * (group, filter), under the reserved key `sharedTrieKey(group)` at the inner filter;
 * SharedGroups holds the members. Subscriber keys are client ids, which cannot contain
 * U+0000 (MQTT-1.5.4-2, rejected by the codec), so the reserved keys (which start with
 * U+0000) never collide with a client, not even one named `$share/...`.
 *
 *   // SUBSCRIBE `$share/g/a/+` by client c
 *   const s = parseSharedFilter(f);                      // { group: 'g', filter: 'a/+' }
 *   groups.join(s.group, s.filter, c, opts);
 *   trie.add(s.filter, sharedTrieKey(s.group), entry);   // idempotent; entry: your V
 *   // UNSUBSCRIBE (or session end)
 *   if (groups.leave(s.group, s.filter, c) && !groups.has(s.group, s.filter))
 *     trie.remove(s.filter, sharedTrieKey(s.group));
 *   // PUBLISH: in the trie visitor
 *   const group = sharedGroupOfKey(key);
 *   if (group === undefined) deliverTo(key, value);      // an ordinary subscription
 *   else { const m = groups.pick(group, filter, canTakeMore); if (m) deliverTo(m.key, m.value); }
 *
 * The `filter` the trie hands to the visitor is exactly the inner filter the group was
 * joined with, so no string is built per message. Each (group, filter) pair is its own
 * shared subscription: a message matching `$share/g/a/+` and `$share/g/a/#` goes to one
 * member of each. Retained messages are not sent for shared subscriptions (MQTT5 4.8.2):
 * the broker skips the RetainedIndex for them.
 */

/** A member as stored: the returned object is shared, do not mutate it. */
export interface SharedMember<M> {
  readonly key: string;
  readonly value: M;
}

export type Eligibility<M, C> = (memberKey: string, value: M, ctx: C) => boolean;

/** How `pick` chooses among eligible members. */
export type SharedStrategy = 'round-robin' | 'random';

export interface SharedGroupsOptions {
  /** Default 'round-robin'. */
  strategy?: SharedStrategy;
  /** Source of randomness for 'random', in [0, 1). Default Math.random. */
  random?: () => number;
}

const SHARED_KEY_PREFIX = '\u0000share/';

/** The reserved SubscriptionTrie key under which a shared group's filter is stored. */
export function sharedTrieKey(group: string): string {
  return SHARED_KEY_PREFIX + group;
}

/** The group of a reserved trie key, or undefined for an ordinary subscriber key. */
export function sharedGroupOfKey(key: string): string | undefined {
  // Cheap first test: ordinary keys never start with U+0000.
  if (key.charCodeAt(0) !== 0 || !key.startsWith(SHARED_KEY_PREFIX)) return undefined;
  return key.slice(SHARED_KEY_PREFIX.length);
}

class Group<M> {
  /** In join order; round robin walks this list. */
  readonly members: SharedMember<M>[] = [];
  /** Index into `members` of the next member to try. */
  cursor = 0;

  indexOf(key: string): number {
    const members = this.members;
    for (let i = 0; i < members.length; i++) if (members[i].key === key) return i;
    return -1;
  }
}

export class SharedGroups<M> {
  /** group -> filter -> members. Two levels, so no key string is built per pick. */
  private readonly groups = new Map<string, Map<string, Group<M>>>();
  private readonly strategy: SharedStrategy;
  private readonly random: () => number;
  private groupTotal = 0;
  private memberTotal = 0;

  constructor(options: SharedGroupsOptions = {}) {
    this.strategy = options.strategy ?? 'round-robin';
    this.random = options.random ?? Math.random;
  }

  /** Number of (group, filter) pairs with at least one member. */
  get groupCount(): number {
    return this.groupTotal;
  }

  /** Number of (group, filter, member) entries. */
  get size(): number {
    return this.memberTotal;
  }

  /**
   * Adds `memberKey` to the (group, filter) shared subscription, or replaces its value
   * (keeping its place in the rotation). True if the member is new to that pair.
   */
  join(group: string, filter: string, memberKey: string, value: M): boolean {
    let byFilter = this.groups.get(group);
    if (byFilter === undefined) {
      byFilter = new Map();
      this.groups.set(group, byFilter);
    }
    let g = byFilter.get(filter);
    if (g === undefined) {
      g = new Group<M>();
      byFilter.set(filter, g);
      this.groupTotal++;
    }
    const at = g.indexOf(memberKey);
    const member: SharedMember<M> = { key: memberKey, value };
    if (at !== -1) {
      g.members[at] = member;
      return false;
    }
    g.members.push(member);
    this.memberTotal++;
    return true;
  }

  /**
   * Removes `memberKey` from (group, filter). False if it was not a member. When the last
   * member leaves, the pair is deleted (`has` turns false): remove its trie entry then.
   */
  leave(group: string, filter: string, memberKey: string): boolean {
    const byFilter = this.groups.get(group);
    const g = byFilter?.get(filter);
    if (byFilter === undefined || g === undefined) return false;
    const at = g.indexOf(memberKey);
    if (at === -1) return false;
    g.members.splice(at, 1);
    this.memberTotal--;
    // Keep the rotation where it was: the member that would have come next still does.
    if (at < g.cursor) g.cursor--;
    if (g.cursor >= g.members.length) g.cursor = 0;
    if (g.members.length === 0) {
      byFilter.delete(filter);
      this.groupTotal--;
      if (byFilter.size === 0) this.groups.delete(group);
    }
    return true;
  }

  /** True while (group, filter) has at least one member. */
  has(group: string, filter: string): boolean {
    return this.groups.get(group)?.get(filter) !== undefined;
  }

  /** The members of (group, filter), in rotation order; empty if none. */
  members(group: string, filter: string): readonly SharedMember<M>[] {
    const g = this.groups.get(group)?.get(filter);
    return g === undefined ? [] : g.members.slice();
  }

  /**
   * Chooses the member of (group, filter) that gets the next message: the next eligible
   * one in round-robin order (or a random eligible one), skipping members for which
   * `eligible` returns false (offline, window full...). Undefined if no member is eligible.
   * `ctx` is passed to `eligible` so that it can be a static function.
   */
  pick<C = undefined>(
    group: string,
    filter: string,
    eligible?: Eligibility<M, C>,
    ctx?: C,
  ): SharedMember<M> | undefined {
    const g = this.groups.get(group)?.get(filter);
    if (g === undefined) return undefined;
    const members = g.members;
    const n = members.length;
    const start = this.strategy === 'random' ? Math.floor(this.random() * n) % n : g.cursor;
    for (let step = 0; step < n; step++) {
      let i = start + step;
      if (i >= n) i -= n;
      const m = members[i];
      if (eligible === undefined || eligible(m.key, m.value, ctx as C)) {
        g.cursor = i + 1 === n ? 0 : i + 1;
        return m;
      }
    }
    return undefined;
  }
}
