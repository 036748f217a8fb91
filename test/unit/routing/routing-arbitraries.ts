/**
 * Shared generators and brute-force models for the routing property tests. The level
 * alphabet is small on purpose so that random filters and topics actually collide, and
 * it includes the awkward cases: empty levels and `$`-topics (MQTT-4.7.2-1).
 */
import fc from 'fast-check';

export const TOPIC_LEVELS = ['', '$SYS', 'a', 'b'] as const;

/** Valid topic names of 1..4 levels over TOPIC_LEVELS (the one-empty-level name '' excluded). */
export const topicArb: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...TOPIC_LEVELS), { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

/** Valid topic filters: 0..4 levels over TOPIC_LEVELS and `+`, optionally ending in `#`. */
export const filterArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.constantFrom(...TOPIC_LEVELS, '+'), { minLength: 0, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

/**
 * An independent oracle for topic matching (regex based: fine in a test), to check the
 * reference matcher `topicMatches` itself.
 */
export function regexMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const levels = filter.split('/');
  const hash = levels[levels.length - 1] === '#';
  const body = (hash ? levels.slice(0, -1) : levels).map((l) => (l === '+' ? '[^/]*' : escape(l))).join('/');
  let source: string;
  if (!hash) source = `^${body}$`;
  else if (levels.length === 1) source = '^.*$';
  else source = `^${body}(/.*)?$`;
  return new RegExp(source, 's').test(topic);
}

/** Number of distinct non-empty level prefixes of the given filters or topics: the node count a pruned tree must have. */
export function distinctPrefixes(strings: Iterable<string>): number {
  const prefixes = new Set<string>();
  for (const s of strings) {
    const levels = s.split('/');
    for (let i = 1; i <= levels.length; i++) prefixes.add(levels.slice(0, i).join('/'));
  }
  return prefixes.size;
}
