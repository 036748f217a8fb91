/**
 * Topic names and topic filters (MQTT 3.1.1 section 4.7, MQTT 5 sections 4.7 and 4.8).
 *
 * Everything here is a plain scan over char codes: no regexes and no splitting, because
 * validation runs once per PUBLISH and SUBSCRIBE on the broker's hot path. U+0000 and
 * malformed UTF-8 are rejected by the codec before a string gets here (MQTT-1.5.4-1/2).
 *
 * `topicMatches` is the reference matcher: simple and obviously right rather than fast.
 * The SubscriptionTrie and RetainedIndex are tested against it.
 */

export interface TopicLimits {
  /** Longest name or filter in UTF-8 bytes. Default 65535, the longest MQTT string. */
  maxLength?: number;
  /** Most levels (separator count + 1). Default: unlimited. */
  maxLevels?: number;
}

/** A shared subscription filter split into its parts (MQTT5 4.8.2). */
export interface SharedFilter {
  /** The ShareName. */
  group: string;
  /** The Topic Filter after `$share/{ShareName}/`, which is what gets matched. */
  filter: string;
}

const SLASH = 0x2f; // '/'
const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const DOLLAR = 0x24; // '$'

const MQTT_MAX_STRING_BYTES = 65_535;
const SHARE_PREFIX = '$share/';

/**
 * True when `s` fits `maxBytes` UTF-8 bytes. Avoids counting in the common case: a UTF-16
 * code unit encodes to 1..3 UTF-8 bytes (a surrogate pair, two units, to 4 bytes).
 */
function fitsBytes(s: string, maxBytes: number): boolean {
  if (s.length > maxBytes) return false;
  if (s.length * 3 <= maxBytes) return true;
  return Buffer.byteLength(s, 'utf8') <= maxBytes;
}

/**
 * A topic name as carried by PUBLISH (and Will Topic): at least one character
 * (MQTT-4.7.3-1), no wildcard characters (MQTT-4.7.1-1, MQTT-3.3.2-2), within the
 * configured byte length and level count. Empty levels (`a//b`, `/a`) are allowed.
 */
export function isValidTopicName(name: string, limits?: TopicLimits): boolean {
  const len = name.length;
  if (len === 0) return false; // MQTT-4.7.3-1
  if (!fitsBytes(name, limits?.maxLength ?? MQTT_MAX_STRING_BYTES)) return false;
  const maxLevels = limits?.maxLevels ?? Infinity;
  let levels = 1;
  for (let i = 0; i < len; i++) {
    const c = name.charCodeAt(i);
    if (c === PLUS || c === HASH) return false; // MQTT-4.7.1-1, MQTT-3.3.2-2
    if (c === SLASH && ++levels > maxLevels) return false;
  }
  return levels <= maxLevels;
}

/**
 * A topic filter as carried by SUBSCRIBE / UNSUBSCRIBE: at least one character
 * (MQTT-4.7.3-1); `#` only as the whole last level (MQTT-4.7.1-2); `+` only as a whole
 * level (MQTT-4.7.1-3). A shared filter `$share/g/f` is also syntactically a valid filter:
 * callers run `parseSharedFilter` first and validate the inner filter's semantics there.
 */
export function isValidTopicFilter(filter: string, limits?: TopicLimits): boolean {
  const len = filter.length;
  if (len === 0) return false; // MQTT-4.7.3-1
  if (!fitsBytes(filter, limits?.maxLength ?? MQTT_MAX_STRING_BYTES)) return false;
  const maxLevels = limits?.maxLevels ?? Infinity;
  let levels = 1;
  let levelStart = 0;
  for (let i = 0; i < len; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      if (++levels > maxLevels) return false;
      levelStart = i + 1;
    } else if (c === HASH) {
      // MQTT-4.7.1-2: alone in its level and the last character of the filter.
      if (i !== levelStart || i !== len - 1) return false;
    } else if (c === PLUS) {
      // MQTT-4.7.1-3: alone in its level.
      if (i !== levelStart || (i + 1 < len && filter.charCodeAt(i + 1) !== SLASH)) return false;
    }
  }
  return levels <= maxLevels;
}

/**
 * Splits a shared subscription filter `$share/{ShareName}/{filter}` (MQTT5 4.8.2).
 * Returns null for a filter that is not shared (does not start with `$share/`), and
 * 'invalid' when it starts with `$share/` but the ShareName is empty or holds `+` or `#`
 * (MQTT-4.8.2-1), is not followed by `/` and a filter (MQTT-4.8.2-2), or the inner filter
 * is not a valid topic filter (MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.7.3-1). Length and level
 * limits apply to the whole string: check them with `isValidTopicFilter(whole, limits)`.
 */
export function parseSharedFilter(filter: string): SharedFilter | null | 'invalid' {
  if (!filter.startsWith(SHARE_PREFIX)) return null;
  const start = SHARE_PREFIX.length;
  const slash = filter.indexOf('/', start);
  if (slash === -1 || slash === start) return 'invalid'; // `$share/g`, `$share//x`
  for (let i = start; i < slash; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) return 'invalid'; // MQTT-4.8.2-1
  }
  const inner = filter.slice(slash + 1);
  if (!isValidTopicFilter(inner)) return 'invalid'; // MQTT-4.8.2-2, and `$share/g/` is empty
  return { group: filter.slice(start, slash), filter: inner };
}

/** True when the filter holds a `+` or `#` level. Assumes a valid filter. */
export function isWildcardFilter(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) return true;
  }
  return false;
}

/**
 * The reference matcher: does `filter` (valid, not shared) match `topic` (a valid name)?
 * - `+` matches exactly one level, which may be empty (`sport/+` matches `sport/`).
 * - `#` matches any number of levels including zero, so `a/#` also matches `a`
 *   (MQTT-4.7.1-2).
 * - A topic starting with `$` is not matched by a filter whose first level is a wildcard
 *   (MQTT-4.7.2-1): `#` does not match `$SYS/x`, `$SYS/#` does.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.charCodeAt(0) === DOLLAR && (f[0] === '+' || f[0] === '#')) return false; // MQTT-4.7.2-1
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // MQTT-4.7.1-2: matches the parent level and all below
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
