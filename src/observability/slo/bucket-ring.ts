/**
 * Good/bad event counts in fixed time buckets, in a ring: constant memory for a window of
 * `size` buckets of `resolutionMs`. A slot remembers which absolute bucket it holds, so a
 * stale slot (from a lap ago, or before a restart) reads as empty.
 */
export interface Counts {
  good: number;
  bad: number;
}

export class BucketRing {
  private readonly good: Float64Array;
  private readonly bad: Float64Array;
  private readonly at: Float64Array;

  constructor(
    readonly resolutionMs: number,
    readonly size: number,
  ) {
    if (!(resolutionMs > 0) || !(size > 0)) throw new RangeError('bucket ring needs a positive resolution and size');
    this.good = new Float64Array(size);
    this.bad = new Float64Array(size);
    this.at = new Float64Array(size).fill(-1);
  }

  bucketOf(t: number): number {
    return Math.floor(t / this.resolutionMs);
  }

  add(t: number, good: number, bad: number): void {
    this.addToBucket(this.bucketOf(t), good, bad);
  }

  addToBucket(b: number, good: number, bad: number): void {
    const i = b % this.size;
    if (this.at[i] !== b) {
      this.at[i] = b;
      this.good[i] = 0;
      this.bad[i] = 0;
    }
    this.good[i]! += good;
    this.bad[i]! += bad;
  }

  /** Totals of the `count` buckets ending with the one that holds `t` (count <= size). */
  sum(t: number, count: number): Counts {
    const last = this.bucketOf(t);
    const n = Math.min(count, this.size);
    let good = 0;
    let bad = 0;
    for (let b = last - n + 1; b <= last; b++) {
      const i = ((b % this.size) + this.size) % this.size;
      if (this.at[i] === b) {
        good += this.good[i]!;
        bad += this.bad[i]!;
      }
    }
    return { good, bad };
  }

  /** Non-empty buckets within the ring's span ending at `t`: [bucket, good, bad]. */
  entries(t: number): Array<[number, number, number]> {
    const last = this.bucketOf(t);
    const out: Array<[number, number, number]> = [];
    for (let b = last - this.size + 1; b <= last; b++) {
      const i = ((b % this.size) + this.size) % this.size;
      if (this.at[i] === b && (this.good[i]! > 0 || this.bad[i]! > 0)) out.push([b, this.good[i]!, this.bad[i]!]);
    }
    return out;
  }
}
