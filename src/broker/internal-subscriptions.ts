/**
 * Server-side subscribers (the platform's presence, shadows, commands): handlers matched by
 * topic filter, called synchronously after a message has been routed to the clients.
 * A separate trie from the clients' one, so that the client routing path pays nothing
 * when there are none.
 */
import type { Logger } from '../observability/logger.js';
import type { ClientInfo } from './hooks.js';
import { SubscriptionTrie } from './routing/index.js';
import type { Message } from './session/message.js';

export type InternalHandler = (msg: Message, publisher: ClientInfo | undefined) => void;

export class InternalSubscriptions {
  private readonly trie = new SubscriptionTrie<InternalHandler>();
  private seq = 0;

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.trie.size;
  }

  /** Returns the function that unsubscribes. */
  add(filter: string, handler: InternalHandler): () => void {
    const key = `\u0001internal:${++this.seq}`;
    this.trie.add(filter, key, handler);
    return () => {
      this.trie.remove(filter, key);
    };
  }

  /** Calls every matching handler (errors are logged, never thrown); returns how many. */
  deliver(msg: Message, publisher: ClientInfo | undefined): number {
    const handlers: InternalHandler[] = [];
    this.trie.match(msg.topic, (_k, h) => handlers.push(h));
    for (const h of handlers) {
      try {
        h(msg, publisher);
      } catch (err) {
        this.logger.error({ err, topic: msg.topic }, 'internal subscriber failed');
      }
    }
    return handlers.length;
  }
}
