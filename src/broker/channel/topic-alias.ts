/**
 * Topic aliases (MQTT5 3.3.2.3.4), per network connection, never per session.
 * Inbound: the client maps alias -> topic up to our Topic Alias Maximum.
 * Outbound: we give the first `max` distinct topics an alias (the client's Topic Alias
 * Maximum, capped) and send later messages on them with an empty topic. Topics beyond
 * that are sent in full; aliases are not reassigned, which keeps the table stable.
 */
export class InboundAliases {
  private readonly map = new Map<number, string>();
  constructor(readonly max: number) {}

  /** Resolves a PUBLISH's topic. Returns the topic, or a reason code for the failure. */
  resolve(topic: string, alias: number): string | 'out-of-range' | 'unknown' {
    if (alias === 0 || alias > this.max) return 'out-of-range'; // MQTT-3.3.2-8, -9
    if (topic.length > 0) {
      this.map.set(alias, topic);
      return topic;
    }
    return this.map.get(alias) ?? 'unknown';
  }
}

export class OutboundAliases {
  private readonly map = new Map<string, number>();
  constructor(readonly max: number) {}

  /**
   * The alias to use for `topic`: `{ alias, known }` where known means the client already
   * has the mapping (send an empty topic), or undefined (send the topic without alias).
   */
  lookup(topic: string): { alias: number; known: boolean } | undefined {
    const a = this.map.get(topic);
    if (a !== undefined) return { alias: a, known: true };
    if (this.map.size >= this.max) return undefined;
    const alias = this.map.size + 1;
    this.map.set(topic, alias);
    return { alias, known: false };
  }

  /** The client never received the packet that set `topic`'s alias (too large): forget it. */
  forget(topic: string): void {
    // Only the most recent assignment can be undone without renumbering.
    if (this.map.get(topic) === this.map.size) this.map.delete(topic);
  }
}
