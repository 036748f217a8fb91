/**
 * A Store test double for the broker-level durability contract: a MemoryStore whose
 * flush() barrier the test holds, releases or fails by hand, so that "nothing is
 * acknowledged or forwarded before the commit" can be observed deterministically.
 */
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { HoldfastError } from '../../src/errors/index.js';

export class GatedStore extends MemoryStore {
  private held = false;
  private waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  /** flush() calls made while held. */
  flushCalls = 0;

  /** From now on flush() returns a promise that waits for release() or fail(). */
  hold(): void {
    this.held = true;
  }

  /** Resolves every waiting barrier and stops holding. */
  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  /** Rejects every waiting barrier (a failed commit) and stops holding. */
  fail(): void {
    this.held = false;
    const err = new HoldfastError('STORE_WRITE_FAILED', 'storage unavailable (test: commit failed)');
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  get pendingBarriers(): number {
    return this.waiting.length;
  }

  override flush(): Promise<void> | undefined {
    if (!this.held) return undefined;
    this.flushCalls++;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}
