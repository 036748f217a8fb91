/**
 * Retained messages (MQTT-3.3.1-5) by topic name, in a level tree so that a SUBSCRIBE's
 * filter reaches its retained messages without scanning every topic, plus a flat map for
 * O(1) get/replace by exact topic.
 *
 * `match` is a lazy generator: it keeps a stack of Map iterators and does work in
 * proportion to what the caller consumes, so the broker can deliver 100k retained
 * messages in batches between event-loop turns. It is a live view: set/delete between
 * two `next()` calls are allowed. A topic deleted before the walk reaches it is not
 * yielded; one added may or may not be; a topic deleted and set again during the walk may
 * be yielded twice (the second time with its new message). The message yielded is always
 * the one current at the time of yielding.
 */
import { HoldfastError } from '../../errors/index.js';
import { isValidTopicFilter, isValidTopicName } from './topic.js';

const DOLLAR = 0x24; // '$'

class RetainedNode<M> {
  children: Map<string, RetainedNode<M>> | null = null;
  /** Set while a message is retained at this node's topic. */
  has = false;
  msg: M | undefined = undefined;

  constructor(
    readonly parent: RetainedNode<M> | null,
    readonly level: string,
    /** The topic name ending at this node. */
    readonly topic: string,
  ) {}
}

/** One pending piece of the match walk. */
interface Frame<M> {
  readonly children: IterableIterator<RetainedNode<M>>;
  /**
   * Filter index the children are matched against, or -1 when every descendant matches
   * (below a `#`).
   */
  readonly next: number;
  /** Skip children whose level starts with `$` (wildcard in the first level, MQTT-4.7.2-1). */
  readonly skipDollar: boolean;
}

export class RetainedIndex<M> {
  private readonly root = new RetainedNode<M>(null, '', '');
  private readonly byTopic = new Map<string, RetainedNode<M>>();

  /** Number of retained messages. */
  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Retains `msg` for `topic` (a valid topic name: throws ROUTING_INVALID_TOPIC otherwise),
   * replacing the previous one (MQTT-3.3.1-5). Deleting on an empty payload
   * (MQTT-3.3.1-6/7) is the caller's decision: call `delete`.
   */
  set(topic: string, msg: M): 'added' | 'replaced' {
    const existing = this.byTopic.get(topic);
    if (existing !== undefined) {
      existing.msg = msg;
      return 'replaced';
    }
    if (!isValidTopicName(topic)) {
      throw new HoldfastError('ROUTING_INVALID_TOPIC', `invalid topic name: ${JSON.stringify(topic)}`);
    }
    let node = this.root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      const level = end === -1 ? topic.slice(start) : topic.slice(start, end);
      node.children ??= new Map();
      let child = node.children.get(level);
      if (child === undefined) {
        child = new RetainedNode(node, level, end === -1 ? topic : topic.slice(0, end));
        node.children.set(level, child);
      }
      node = child;
      if (end === -1) break;
      start = end + 1;
    }
    node.has = true;
    node.msg = msg;
    this.byTopic.set(topic, node);
    return 'added';
  }

  get(topic: string): M | undefined {
    return this.byTopic.get(topic)?.msg;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /** Removes the retained message of `topic`; prunes nodes left empty. False if none. */
  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.has = false;
    node.msg = undefined;
    let n = node;
    while (n.parent !== null && !n.has && (n.children === null || n.children.size === 0)) {
      const parent: RetainedNode<M> = n.parent;
      if (parent.children !== null) {
        parent.children.delete(n.level);
        if (parent.children.size === 0) parent.children = null;
      }
      n = parent;
    }
    return true;
  }

  /** Every retained message, `$` topics included, in no particular order. */
  *entries(): Generator<[topic: string, msg: M]> {
    for (const [topic, node] of this.byTopic) yield [topic, node.msg as M];
  }

  /**
   * Lazily yields the retained messages whose topic matches `filter` (a valid, non-shared
   * topic filter: throws ROUTING_INVALID_FILTER on the first `next()` otherwise).
   * `a/#` includes `a` (MQTT-4.7.1-2); a filter starting with a wildcard does not match
   * `$` topics (MQTT-4.7.2-1), so `#` does not return `$SYS/...`.
   */
  *match(filter: string): Generator<[topic: string, msg: M]> {
    if (!isValidTopicFilter(filter)) {
      throw new HoldfastError('ROUTING_INVALID_FILTER', `invalid topic filter: ${JSON.stringify(filter)}`);
    }
    const levels = filter.split('/');
    const last = levels.length;
    const stack: Frame<M>[] = [];
    // The node to continue from and the filter index it is matched against next: first the
    // root, then each child a `+` frame produces.
    let from: RetainedNode<M> | undefined = this.root;
    let fromLevel = 0;

    for (;;) {
      // Follow literal levels without a frame; stop at the filter's end or a wildcard.
      let node: RetainedNode<M> | undefined = from;
      let i = fromLevel;
      while (node !== undefined) {
        if (i === last) {
          if (node.has) yield [node.topic, node.msg as M];
          break;
        }
        const level = levels[i];
        if (level === '#') {
          // MQTT-4.7.1-2: `a/#` matches `a` (the root, i === 0, never holds a message).
          if (node.has) yield [node.topic, node.msg as M];
          if (node.children !== null) stack.push({ children: node.children.values(), next: -1, skipDollar: i === 0 });
          break;
        }
        if (level === '+') {
          if (node.children !== null) stack.push({ children: node.children.values(), next: i + 1, skipDollar: i === 0 });
          break;
        }
        node = node.children === null ? undefined : node.children.get(level);
        i++;
      }
      from = undefined;

      // Pull children from the innermost frame until one needs the literal walk above.
      while (from === undefined && stack.length > 0) {
        const frame = stack[stack.length - 1];
        const step = frame.children.next();
        if (step.done === true) {
          stack.pop();
          continue;
        }
        const child = step.value;
        if (frame.skipDollar && child.level.charCodeAt(0) === DOLLAR) continue; // MQTT-4.7.2-1
        if (frame.next === -1) {
          // Below a `#`: the child and all its descendants match.
          if (child.has) yield [child.topic, child.msg as M];
          if (child.children !== null) stack.push({ children: child.children.values(), next: -1, skipDollar: false });
        } else {
          from = child; // matched a `+`: go on with the rest of the filter from here
          fromLevel = frame.next;
        }
      }
      if (from === undefined) return;
    }
  }

  /** Counts the tree's nodes (root excluded) by walking it: O(nodes), for tests and diagnostics. */
  countNodes(): number {
    let count = 0;
    const stack: RetainedNode<M>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node !== this.root) count++;
      if (node.children !== null) for (const child of node.children.values()) stack.push(child);
    }
    return count;
  }
}
