/**
 * How far the ingress has got in its stream, kept in the broker store with every batch
 * (`ingress/<name>/position` = `<stream created> <sequence>`): the highest stream sequence
 * handled, or just before the oldest message given back (nak) and not handled since. A
 * consumer that has to be created again (it was deleted) starts after it instead of
 * replaying the stream; the stream's creation time keeps a re-created stream's sequences
 * from being taken for the old one's.
 */
import type { Store } from '../../ports/store.js';

export class IngressPosition {
  private streamCreated = '';
  private maxHandled = 0;
  /** Sequences given back and not handled since (bounded by the consumer's max_ack_pending). */
  private readonly unresolved = new Set<number>();
  private stored = 0;

  constructor(
    private readonly store: Pick<Store, 'putMeta' | 'getMeta'>,
    private readonly key: string,
  ) {}

  /** The stream being consumed; a different one (re-created) starts from nothing. */
  setStream(created: string): void {
    if (created === this.streamCreated) return;
    this.streamCreated = created;
    this.maxHandled = 0;
    this.unresolved.clear();
    this.stored = 0;
  }

  /**
   * Takes a batch's handled and given-back sequences; writes the new position into the
   * current store batch when it moved. Returns a commit function to call once the batch is
   * durable (the position then counts as stored).
   */
  record(handled: readonly number[], givenBack: readonly number[]): () => void {
    for (const seq of handled) {
      this.unresolved.delete(seq);
      if (seq > this.maxHandled) this.maxHandled = seq;
    }
    for (const seq of givenBack) this.unresolved.add(seq);
    let oldest = Infinity;
    for (const seq of this.unresolved) if (seq < oldest) oldest = seq;
    const position = oldest === Infinity ? this.maxHandled : Math.min(this.maxHandled, oldest - 1);
    if (position === this.stored) return () => undefined;
    this.store.putMeta(this.key, Buffer.from(`${this.streamCreated} ${position}`, 'utf8'));
    return () => {
      this.stored = position;
    };
  }

  /** Where a consumer created again on the stream `created` starts, or undefined (first start). */
  async resumeAt(created: string): Promise<number | undefined> {
    const v = (await this.store.getMeta(this.key))?.toString('utf8');
    const space = v?.lastIndexOf(' ') ?? -1;
    if (v === undefined || space < 0 || v.slice(0, space) !== created) return undefined;
    const seq = Number(v.slice(space + 1));
    return Number.isSafeInteger(seq) && seq > 0 ? seq + 1 : undefined;
  }
}
