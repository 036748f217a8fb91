import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AclRule } from '../../../src/broker/config.js';
import type { ClientInfo } from '../../../src/broker/hooks.js';
import { topicMatches } from '../../../src/broker/routing/index.js';
import { createStaticAcl, filterCovers, filtersOverlap } from '../../../src/platform/acl/index.js';

function client(clientId: string, username?: string): ClientInfo {
  return { clientId, username, protocolVersion: 5, remoteAddress: '127.0.0.1:1', listener: 'mqtt', certificate: undefined };
}

function acl(rules: AclRule[]) {
  const hooks = createStaticAcl(rules);
  return {
    pub: (c: ClientInfo, topic: string) => hooks.authorizePublish?.(c, topic, 0, false) ?? true,
    sub: (c: ClientInfo, filter: string) => hooks.authorizeSubscribe?.(c, filter, 0) ?? true,
    hooks,
  };
}

const INTERFACES_RULES: AclRule[] = [
  { action: 'subscribe', topic: 'test/nosubscribe', allow: false },
  { action: 'publish', topic: 'devices/%c/#', allow: true },
  { action: 'all', topic: '#', allow: true },
];

describe('static ACL: order and defaults', () => {
  it('no rules: no hooks installed, everything allowed (O(1) per message)', () => {
    const a = acl([]);
    expect(a.hooks.authorizePublish).toBeUndefined();
    expect(a.hooks.authorizeSubscribe).toBeUndefined();
  });

  it('only subscribe rules: no publish hook on the per-message path', () => {
    const a = acl([{ action: 'subscribe', topic: 'x', allow: false }]);
    expect(a.hooks.authorizePublish).toBeUndefined();
    expect(a.hooks.authorizeSubscribe).toBeDefined();
  });

  it('first match wins', () => {
    const a = acl([
      { action: 'publish', topic: 'a/b', allow: false },
      { action: 'publish', topic: 'a/#', allow: true },
    ]);
    expect(a.pub(client('c'), 'a/b')).toBe(false);
    expect(a.pub(client('c'), 'a/c')).toBe(true);
    const b = acl([
      { action: 'publish', topic: 'a/#', allow: true },
      { action: 'publish', topic: 'a/b', allow: false },
    ]);
    expect(b.pub(client('c'), 'a/b')).toBe(true);
  });

  it('no match = allowed', () => {
    const a = acl([{ action: 'publish', topic: 'a/b', allow: false }]);
    expect(a.pub(client('c'), 'x/y')).toBe(true);
  });

  it('action all applies to publish and subscribe; publish rules do not apply to subscribe', () => {
    const a = acl([
      { action: 'all', topic: 'secret/#', allow: false },
      { action: 'publish', topic: 'ro/#', allow: false },
    ]);
    expect(a.pub(client('c'), 'secret/x')).toBe(false);
    expect(a.sub(client('c'), 'secret/x')).toBe(false);
    expect(a.pub(client('c'), 'ro/x')).toBe(false);
    expect(a.sub(client('c'), 'ro/x')).toBe(true);
  });

  it('the INTERFACES.md example: test/nosubscribe refused, everything else allowed', () => {
    const a = acl(INTERFACES_RULES);
    expect(a.sub(client('c'), 'test/nosubscribe')).toBe(false);
    expect(a.sub(client('c'), 'test/other')).toBe(true);
    expect(a.pub(client('c'), 'test/nosubscribe')).toBe(true);
    expect(a.pub(client('dev1'), 'devices/dev1/temp')).toBe(true);
  });

  it('MQTT-4.7.2-1: an allow rule on # does not cover $SYS topics; a deny on # does not touch them either', () => {
    const a = acl([{ action: 'all', topic: '#', allow: false }]);
    expect(a.pub(client('c'), 'x')).toBe(false);
    expect(a.pub(client('c'), '$SYS/x')).toBe(true);
    expect(a.sub(client('c'), '$SYS/#')).toBe(true);
    const b = acl([{ action: 'all', topic: '$SYS/#', allow: false }]);
    expect(b.pub(client('c'), '$SYS/broker/uptime')).toBe(false);
    expect(b.sub(client('c'), '#')).toBe(true);
    expect(b.sub(client('c'), '$SYS/broker/+')).toBe(false);
  });
});

describe('static ACL: %c, %u, clientId, username', () => {
  const rules: AclRule[] = [
    { action: 'all', topic: 'devices/%c/#', allow: true },
    { action: 'all', topic: 'users/%u/#', allow: true },
    { action: 'all', topic: 'devices/#', allow: false },
    { action: 'all', topic: 'users/#', allow: false },
  ];

  it('%c is the client id', () => {
    const a = acl(rules);
    expect(a.pub(client('dev1'), 'devices/dev1/temp')).toBe(true);
    expect(a.pub(client('dev1'), 'devices/dev2/temp')).toBe(false);
    expect(a.sub(client('dev1'), 'devices/dev1/#')).toBe(true);
    expect(a.sub(client('dev1'), 'devices/+/temp')).toBe(false);
  });

  it('%u is the username; a rule with %u does not match a client without one', () => {
    const a = acl(rules);
    expect(a.pub(client('x', 'ann'), 'users/ann/inbox')).toBe(true);
    expect(a.pub(client('x', 'ann'), 'users/bob/inbox')).toBe(false);
    expect(a.pub(client('x'), 'users/undefined/inbox')).toBe(false);
    expect(a.pub(client('x'), 'users//inbox')).toBe(false);
    // Without a username the %u rule is skipped, so a later allow applies.
    const b = acl([
      { action: 'publish', topic: 'u/%u', allow: false },
      { action: 'publish', topic: 'u/#', allow: true },
    ]);
    expect(b.pub(client('x'), 'u/')).toBe(true);
    expect(b.pub(client('x', 'bob'), 'u/bob')).toBe(false);
  });

  it('a client id or username holding + # or / is denied by a rule that substitutes it (fail closed)', () => {
    const a = acl(rules);
    expect(a.sub(client('#'), 'devices/#')).toBe(false);
    expect(a.pub(client('a/b'), 'devices/a/b/x')).toBe(false);
    expect(a.sub(client('x', '+'), 'users/+/inbox')).toBe(false);
    // Even where the substituted rule could not have matched.
    expect(a.pub(client('a+b'), 'elsewhere')).toBe(false);
    // Rules without %c are unaffected by a strange client id.
    const b = acl([{ action: 'publish', topic: 'x/#', allow: true }]);
    expect(b.pub(client('a/b'), 'x/1')).toBe(true);
  });

  it('clientId and username restrict a rule to one client (exact match)', () => {
    const a = acl([
      { action: 'publish', topic: 'admin/#', allow: true, clientId: 'console' },
      { action: 'publish', topic: 'ops/#', allow: true, username: 'ops' },
      { action: 'publish', topic: '#', allow: false },
    ]);
    expect(a.pub(client('console'), 'admin/reboot')).toBe(true);
    expect(a.pub(client('console2'), 'admin/reboot')).toBe(false);
    expect(a.pub(client('x', 'ops'), 'ops/page')).toBe(true);
    expect(a.pub(client('x', 'Ops'), 'ops/page')).toBe(false);
    expect(a.pub(client('x'), 'ops/page')).toBe(false);
  });
});

describe('static ACL: subscribe filters against rule filters', () => {
  it('deny rule: a subscription that overlaps it is denied (a/# against deny a/b)', () => {
    const a = acl([
      { action: 'subscribe', topic: 'a/b', allow: false },
      { action: 'all', topic: '#', allow: true },
    ]);
    expect(a.sub(client('c'), 'a/#')).toBe(false);
    expect(a.sub(client('c'), '+/b')).toBe(false);
    expect(a.sub(client('c'), '#')).toBe(false);
    expect(a.sub(client('c'), 'a/b')).toBe(false);
    expect(a.sub(client('c'), 'a/c')).toBe(true);
    expect(a.sub(client('c'), 'a/+/c')).toBe(true);
  });

  it('allow rule: the subscription must be covered (allow a/b does not allow a/#)', () => {
    const a = acl([
      { action: 'subscribe', topic: 'a/b', allow: true },
      { action: 'subscribe', topic: 'sensors/+/temp', allow: true },
      { action: 'subscribe', topic: '#', allow: false },
    ]);
    expect(a.sub(client('c'), 'a/b')).toBe(true);
    expect(a.sub(client('c'), 'a/#')).toBe(false);
    expect(a.sub(client('c'), 'a/+')).toBe(false);
    expect(a.sub(client('c'), 'sensors/kitchen/temp')).toBe(true);
    expect(a.sub(client('c'), 'sensors/+/temp')).toBe(true);
    expect(a.sub(client('c'), 'sensors/#')).toBe(false);
  });

  it('MQTT5 4.8.2 a shared subscription is checked by its inner filter', () => {
    const a = acl([{ action: 'subscribe', topic: 'jobs/#', allow: false }]);
    expect(a.sub(client('c'), '$share/workers/jobs/+')).toBe(false);
    expect(a.sub(client('c'), '$share/workers/other/+')).toBe(true);
  });
});

// Reference semantics by enumeration: topics over a tiny alphabet, compared with topicMatches.
const LEVELS = ['a', 'b', '', '$x'];
// Filters have at most 4 levels, so topics of up to 5 levels tell every pair apart.
const TOPICS: string[] = [];
const grow = (prefix: string, depth: number): void => {
  TOPICS.push(prefix);
  if (depth < 5) for (const l of LEVELS.slice(0, 3)) grow(`${prefix}/${l}`, depth + 1);
};
for (const first of LEVELS) grow(first, 1);
const level = fc.constantFrom('a', 'b', '', '$x', '+');
const filterArb = fc
  .tuple(fc.array(level, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => !f.split('/').slice(1).includes('$x')); // `$` only matters at the first level

describe('filter relations agree with topicMatches (MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.7.2-1)', () => {
  it('filterCovers(outer, inner) iff every topic matched by inner is matched by outer', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (outer, inner) => {
        const expected = TOPICS.filter((t) => topicMatches(inner, t)).every((t) => topicMatches(outer, t));
        expect(filterCovers(outer, inner)).toBe(expected);
      }),
      { numRuns: 800 },
    );
  });

  it('filtersOverlap(a, b) iff some topic is matched by both', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (a, b) => {
        const expected = TOPICS.some((t) => topicMatches(a, t) && topicMatches(b, t));
        expect(filtersOverlap(a, b)).toBe(expected);
        expect(filtersOverlap(b, a)).toBe(expected);
      }),
      { numRuns: 800 },
    );
  });

  it('known cases', () => {
    expect(filterCovers('a/#', 'a')).toBe(true);
    expect(filterCovers('a/#', 'a/+/c')).toBe(true);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('+/#', '+/x')).toBe(true);
    expect(filterCovers('+/+/+', '+/+/+/#')).toBe(false);
    expect(filtersOverlap('a/#', '+/b')).toBe(true);
    expect(filtersOverlap('a/b', 'a/c')).toBe(false);
    expect(filtersOverlap('#', '$SYS/x')).toBe(false);
    expect(filtersOverlap('a', 'a/#')).toBe(true);
  });
});
