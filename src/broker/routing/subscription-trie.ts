/**
 * Subscriptions by topic filter, one trie level per topic level, for the broker's hot path:
 * "which subscribers get a PUBLISH to this topic?".
 *
 * Each node holds the subscribers of the filter that ends at that node, keyed by a
 * subscriber key (normally the client id). `+` and `#` levels live in dedicated child
 * slots, so a match walks at most three branches per level (`+`, `#`, the literal) and
 * never scans siblings. Subscribers of a node sit in two parallel arrays plus a key->index
 * map: matching visits them with an index loop (no iterator or entry allocation), and
 * removal is O(1) by swapping with the last entry.
 *
 * A match allocates only the `topic.split('/')` array. Pass a context object as the third
 * argument of `match` to reach per-publish state from a static visitor instead of
 * allocating a closure per publish.
 *
 * Shared subscriptions (MQTT5 4.8.2) go in the same trie under a reserved key per group:
 * see shared-groups.ts for the protocol between the two.
 *
 * No match cache: a match costs a handful of Map lookups per level, and a cache would
 * need invalidation on every add/remove. Measure (bench/routing/routing-bench.mjs) first.
 */
import { HoldfastError } from '../../errors/index.js';
import { isValidTopicFilter } from './topic.js';

const DOLLAR = 0x24; // '$'

/** Keys and values in parallel arrays, `index` maps key -> position in both. */
class Subscribers<V> {
  readonly keys: string[] = [];
  readonly values: V[] = [];
  readonly index = new Map<string, number>();
}

class TrieNode<V> {
  /** Literal child levels (not `+` / `#`); created on first use. */
  children: Map<string, TrieNode<V>> | null = null;
  /** The `+` child. */
  plus: TrieNode<V> | null = null;
  /** The `#` child: a leaf whose subscribers match this level and everything below. */
  hash: TrieNode<V> | null = null;
  /** Subscribers of the filter ending here; null when none. */
  subs: Subscribers<V> | null = null;

  constructor(
    readonly parent: TrieNode<V> | null,
    /** This node's level in its parent ('' for the root, which has no level). */
    readonly level: string,
    /** The full filter ending at this node, handed to visitors. */
    readonly filter: string,
  ) {}

  isEmpty(): boolean {
    return (
      this.subs === null &&
      this.plus === null &&
      this.hash === null &&
      (this.children === null || this.children.size === 0)
    );
  }
}

export type MatchVisitor<V, C> = (key: string, value: V, filter: string, ctx: C) => void;

export class SubscriptionTrie<V> {
  private readonly root = new TrieNode<V>(null, '', '');
  private entries = 0;
  private filters = 0;
  /** > 0 while `match` runs: the trie must not change under a visitor. */
  private matching = 0;

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.entries;
  }

  /** Number of distinct filters with at least one subscriber. */
  get filterCount(): number {
    return this.filters;
  }

  /**
   * Subscribes `key` to `filter` with `value` (e.g. the subscription options).
   * Returns true if the entry is new, false if it replaced key's value at this filter
   * (MQTT-3.8.4-3: a SUBSCRIBE for an existing filter replaces the subscription).
   * Throws ROUTING_INVALID_FILTER for a filter that `isValidTopicFilter` rejects.
   */
  add(filter: string, key: string, value: V): boolean {
    this.assertNotMatching('add');
    if (!isValidTopicFilter(filter)) {
      throw new HoldfastError('ROUTING_INVALID_FILTER', `invalid topic filter: ${JSON.stringify(filter)}`);
    }
    let node = this.root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = this.childFor(node, level);
      if (end === -1) break;
      start = end + 1;
    }
    let subs = node.subs;
    if (subs === null) {
      subs = node.subs = new Subscribers<V>();
      this.filters++;
    }
    const at = subs.index.get(key);
    if (at !== undefined) {
      subs.values[at] = value;
      return false;
    }
    subs.index.set(key, subs.keys.length);
    subs.keys.push(key);
    subs.values.push(value);
    this.entries++;
    return true;
  }

  /** Unsubscribes `key` from `filter`; prunes nodes left empty. False if it was not there. */
  remove(filter: string, key: string): boolean {
    this.assertNotMatching('remove');
    const node = this.find(filter);
    if (node === null || node.subs === null) return false;
    const subs = node.subs;
    const at = subs.index.get(key);
    if (at === undefined) return false;
    const { keys, values } = subs;
    const last = keys.length - 1;
    if (at !== last) {
      keys[at] = keys[last];
      values[at] = values[last];
      subs.index.set(keys[at], at);
    }
    keys.pop();
    values.pop();
    subs.index.delete(key);
    this.entries--;
    if (keys.length === 0) {
      this.filters--;
      node.subs = null;
      this.prune(node);
    }
    return true;
  }

  /** The value `key` holds at exactly `filter` (no wildcard matching), if any. */
  get(filter: string, key: string): V | undefined {
    const node = this.find(filter);
    const subs = node === null ? null : node.subs;
    if (subs === null) return undefined;
    const at = subs.index.get(key);
    return at === undefined ? undefined : subs.values[at];
  }

  /**
   * Visits every (key, value, filter) whose filter matches `topic` (a valid topic name).
   * A key is visited once per matching filter it holds; merging them is the caller's job
   * (MQTT5 3.3.4: one copy, maximum QoS, all subscription identifiers). Filters starting
   * with a wildcard do not match topics starting with `$` (MQTT-4.7.2-1). The visitor
   * must not add or remove subscriptions (that throws ROUTING_MODIFIED_DURING_MATCH);
   * collect what it needs and change the trie after `match` returns.
   */
  match<C = undefined>(topic: string, visit: MatchVisitor<V, C>, ctx?: C): void {
    const levels = topic.split('/');
    this.matching++;
    try {
      matchFrom(this.root, levels, 0, topic.charCodeAt(0) === DOLLAR, visit, ctx as C);
    } finally {
      this.matching--;
    }
  }

  /** Counts the trie's nodes (root excluded) by walking it: O(nodes), for tests and diagnostics. */
  countNodes(): number {
    let count = 0;
    const stack: TrieNode<V>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node !== this.root) count++;
      if (node.plus !== null) stack.push(node.plus);
      if (node.hash !== null) stack.push(node.hash);
      if (node.children !== null) for (const child of node.children.values()) stack.push(child);
    }
    return count;
  }

  private childFor(node: TrieNode<V>, level: string): TrieNode<V> {
    const prefix = node === this.root ? '' : node.filter + '/';
    if (level === '+') return (node.plus ??= new TrieNode(node, level, prefix + level));
    if (level === '#') return (node.hash ??= new TrieNode(node, level, prefix + level));
    node.children ??= new Map();
    let child = node.children.get(level);
    if (child === undefined) {
      child = new TrieNode(node, level, prefix + level);
      node.children.set(level, child);
    }
    return child;
  }

  /** The node of exactly `filter`, or null. Works for any string; invalid filters just miss. */
  private find(filter: string): TrieNode<V> | null {
    let node: TrieNode<V> | null = this.root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      if (level === '+') node = node.plus;
      else if (level === '#') node = node.hash;
      else node = node.children === null ? null : (node.children.get(level) ?? null);
      if (node === null || end === -1) return node;
      start = end + 1;
    }
  }

  /** Unlinks `node` and then each ancestor that is left without subscribers or children. */
  private prune(node: TrieNode<V>): void {
    let n: TrieNode<V> = node;
    while (n.parent !== null && n.isEmpty()) {
      const parent: TrieNode<V> = n.parent;
      if (parent.plus === n) parent.plus = null;
      else if (parent.hash === n) parent.hash = null;
      else if (parent.children !== null) {
        parent.children.delete(n.level);
        if (parent.children.size === 0) parent.children = null;
      }
      n = parent;
    }
  }

  private assertNotMatching(op: string): void {
    if (this.matching > 0) {
      throw new HoldfastError(
        'ROUTING_MODIFIED_DURING_MATCH',
        `SubscriptionTrie.${op} called from inside a match visitor`,
      );
    }
  }
}

function matchFrom<V, C>(
  node: TrieNode<V>,
  levels: string[],
  i: number,
  dollar: boolean,
  visit: MatchVisitor<V, C>,
  ctx: C,
): void {
  if (i === levels.length) {
    visitAll(node, visit, ctx);
    // MQTT-4.7.1-2: `a/#` also matches `a` itself.
    if (node.hash !== null) visitAll(node.hash, visit, ctx);
    return;
  }
  // MQTT-4.7.2-1: no wildcard in the first level matches a `$` topic.
  if (i > 0 || !dollar) {
    if (node.hash !== null) visitAll(node.hash, visit, ctx);
    if (node.plus !== null) matchFrom(node.plus, levels, i + 1, dollar, visit, ctx);
  }
  if (node.children !== null) {
    const child = node.children.get(levels[i]);
    if (child !== undefined) matchFrom(child, levels, i + 1, dollar, visit, ctx);
  }
}

function visitAll<V, C>(node: TrieNode<V>, visit: MatchVisitor<V, C>, ctx: C): void {
  const subs = node.subs;
  if (subs === null) return;
  const { keys, values } = subs;
  const filter = node.filter;
  for (let j = 0; j < keys.length; j++) visit(keys[j], values[j], filter, ctx);
}
