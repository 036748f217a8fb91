/**
 * Per-key ordering for work that starts on the broker's synchronous publish path and
 * continues asynchronously (store reads and writes): tasks of one key (a device id) run
 * one after the other, in the order they were submitted; tasks of different keys run
 * concurrently. Each key's line is bounded, so a device flooding its shadow or response
 * topic cannot grow memory without limit; the map holds only keys with pending work.
 */
interface Line {
  tail: Promise<void>;
  depth: number;
}

const noop = (): void => {};

export class KeyedSerial {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly maxDepth: number) {}

  /** Tasks pending or running for `key`. */
  depth(key: string): number {
    return this.lines.get(key)?.depth ?? 0;
  }

  /** Keys with pending work. */
  get size(): number {
    return this.lines.size;
  }

  /**
   * Runs `task` after every earlier task of `key`. Returns undefined (and does not run it)
   * when `bounded` and the key already has `maxDepth` tasks waiting.
   */
  run<T>(key: string, task: () => Promise<T>, bounded = true): Promise<T> | undefined {
    let line = this.lines.get(key);
    if (line === undefined) {
      line = { tail: Promise.resolve(), depth: 0 };
      this.lines.set(key, line);
    }
    if (bounded && line.depth >= this.maxDepth) return undefined;
    const own = line;
    own.depth++;
    const result = own.tail.then(task);
    own.tail = result.then(noop, noop).then(() => {
      own.depth--;
      if (own.depth === 0 && this.lines.get(key) === own) this.lines.delete(key);
    });
    return result;
  }

  /** Like run(), never refused: for callers that are bounded elsewhere (API requests). */
  runAlways<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.run(key, task, false)!;
  }

  /** Resolves once every task submitted so far has settled. */
  async drain(): Promise<void> {
    while (this.lines.size > 0) await Promise.all([...this.lines.values()].map((l) => l.tail));
  }
}
