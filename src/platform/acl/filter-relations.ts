/**
 * Relations between two topic filters, for checking a SUBSCRIBE filter against an ACL
 * rule's filter. Both filters must be valid (MQTT-4.7.1-2, MQTT-4.7.1-3) and not shared.
 * Matching follows MQTT 4.7: `+` is one level (possibly empty), `#` is zero or more
 * trailing levels, and a filter whose first level is a wildcard matches no topic that
 * starts with `$` (MQTT-4.7.2-1).
 */

const isWild = (level: string): boolean => level === '+' || level === '#';

/** True when `filter` can only match topics starting with `$` while `other` matches none. */
function dollarSeparated(a: readonly string[], b: readonly string[]): boolean {
  const a0 = a[0]!;
  const b0 = b[0]!;
  return (isWild(a0) && !isWild(b0) && b0.startsWith('$')) || (isWild(b0) && !isWild(a0) && a0.startsWith('$'));
}

/**
 * Does `outer` cover `inner`: is every topic matched by `inner` also matched by `outer`?
 * (Mosquitto's sub_matches_acl.) `a/#` covers `a/+/c` and `a`; `a/+` does not cover `a/#`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const s = inner.split('/');
  // MQTT-4.7.2-1: `inner` literally under `$...` holds only $-topics, which a leading wildcard never matches.
  if (isWild(o[0]!) && !isWild(s[0]!) && s[0]!.startsWith('$')) return false;
  for (let i = 0; ; i++) {
    const ol = o[i];
    const sl = s[i];
    if (ol === '#') return true; // matches whatever `inner` has from here on, even nothing
    if (ol === undefined || sl === undefined) return ol === sl;
    if (sl === '#') return false; // `inner` reaches levels (or none) that `outer`'s literal/+ cannot
    if (ol === '+') continue; // one level: any literal, or `+`
    if (sl === '+' || ol !== sl) return false;
  }
}

/** Do the two filters overlap: is there a topic matched by both? `a/#` and `+/b` overlap. */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  if (dollarSeparated(x, y)) return false; // MQTT-4.7.2-1
  for (let i = 0; ; i++) {
    const xl = x[i];
    const yl = y[i];
    if (xl === '#' || yl === '#') return true; // the other side can always be completed
    if (xl === undefined || yl === undefined) return xl === yl;
    if (xl === '+' || yl === '+') continue;
    if (xl !== yl) return false;
  }
}
