/**
 * Sampling by a stable hash of the device (client) id: a device is either traced or not,
 * consistently across its connections and across restarts and replicas, and about
 * `ratio` of all devices are. FNV-1a (32 bit) over the id, then MurmurHash3's final mix so
 * that ids differing only in their last characters ("device-17", "device-18") spread over
 * the whole range (the comparison below looks at the high bits).
 */
export function idHash32(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A sampler for `ratio` in [0, 1]: 0 samples nothing, 1 everything. */
export function hashRatioSampler(ratio: number): (id: string) => boolean {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampling ratio must be within [0, 1], got ${ratio}`);
  if (ratio === 0) return () => false;
  if (ratio === 1) return () => true;
  const bound = Math.floor(ratio * 0x1_0000_0000);
  return (id) => idHash32(id) < bound;
}
