import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  isValidTopicFilter,
  isValidTopicName,
  isWildcardFilter,
  parseSharedFilter,
  topicMatches,
} from '../../../src/broker/routing/index.js';
import { filterArb, regexMatches, topicArb } from './routing-arbitraries.js';

describe('isValidTopicName', () => {
  it.each([
    'sport/tennis/player1',
    '/finance', // a leading separator makes an empty first level (MQTT 4.7.1.1)
    'finance/',
    'a//b',
    '/',
    'Accounts payable', // spaces are allowed (MQTT 4.7.3)
    '$SYS/broker/uptime',
    'ACCOUNTS',
    'caf\u00e9/\u20ac/\u{1F600}',
  ])('accepts %j', (name) => {
    expect(isValidTopicName(name)).toBe(true);
  });

  it('MQTT-4.7.3-1 rejects the empty name', () => {
    expect(isValidTopicName('')).toBe(false);
  });

  it.each(['#', '+', 'sport/+/player1', 'sport/tennis/#', 'sport+', 'a/b#', 'a#b'])(
    'MQTT-4.7.1-1 / MQTT-3.3.2-2 rejects the wildcard name %j',
    (name) => {
      expect(isValidTopicName(name)).toBe(false);
    },
  );

  it('enforces maxLevels', () => {
    expect(isValidTopicName('a/b/c', { maxLevels: 3 })).toBe(true);
    expect(isValidTopicName('a/b/c/d', { maxLevels: 3 })).toBe(false);
    expect(isValidTopicName('///', { maxLevels: 3 })).toBe(false);
    expect(isValidTopicName('//', { maxLevels: 3 })).toBe(true);
  });

  it('enforces maxLength in UTF-8 bytes, not UTF-16 units', () => {
    expect(isValidTopicName('abcd', { maxLength: 4 })).toBe(true);
    expect(isValidTopicName('abcde', { maxLength: 4 })).toBe(false);
    expect(isValidTopicName('\u{1F600}', { maxLength: 4 })).toBe(true); // 2 units, 4 bytes
    expect(isValidTopicName('a\u{1F600}', { maxLength: 4 })).toBe(false); // 5 bytes
    expect(isValidTopicName('\u20ac\u20ac', { maxLength: 5 })).toBe(false); // 2 units, 6 bytes
    expect(isValidTopicName('\u20ac\u20ac', { maxLength: 6 })).toBe(true);
    expect(isValidTopicName('\u00e9\u00e9\u00e9', { maxLength: 5 })).toBe(false); // 6 bytes
  });

  it('defaults maxLength to the MQTT string limit of 65535 bytes', () => {
    expect(isValidTopicName('a'.repeat(65_535))).toBe(true);
    expect(isValidTopicName('a'.repeat(65_536))).toBe(false);
  });
});

describe('isValidTopicFilter', () => {
  // MQTT 4.7.1.2 / 4.7.1.3 non-normative examples.
  it.each([
    '#',
    'sport/tennis/#',
    'sport/tennis/player1/#',
    '+',
    '+/tennis/#',
    'sport/+/player1',
    '+/+',
    '/+',
    'sport/+',
    '$SYS/#',
    '$SYS/monitor/+',
    '/finance',
    'a//b',
    '/',
    '$share/g/a/+', // syntactically a filter; parseSharedFilter handles its semantics
  ])('accepts %j', (filter) => {
    expect(isValidTopicFilter(filter)).toBe(true);
  });

  it('MQTT-4.7.3-1 rejects the empty filter', () => {
    expect(isValidTopicFilter('')).toBe(false);
  });

  it.each(['sport/tennis#', 'sport/tennis/#/ranking', '#/', '#/a', 'a/##', '##', 'a/#b', 'a/b#/c'])(
    'MQTT-4.7.1-2 rejects %j (`#` not alone as the last level)',
    (filter) => {
      expect(isValidTopicFilter(filter)).toBe(false);
    },
  );

  it.each(['sport+', 'sport/+player1', '++', 'a/++/b', '+a', 'a+/b', 'a/b+'])(
    'MQTT-4.7.1-3 rejects %j (`+` not alone in its level)',
    (filter) => {
      expect(isValidTopicFilter(filter)).toBe(false);
    },
  );

  it('enforces maxLevels and maxLength', () => {
    expect(isValidTopicFilter('a/+/#', { maxLevels: 3 })).toBe(true);
    expect(isValidTopicFilter('a/+/b/#', { maxLevels: 3 })).toBe(false);
    expect(isValidTopicFilter('a/\u{1F600}', { maxLength: 6 })).toBe(true);
    expect(isValidTopicFilter('a/\u{1F600}', { maxLength: 5 })).toBe(false);
  });

  it('agrees with a split-based reference on random strings', () => {
    const reference = (s: string): boolean =>
      s.length > 0 &&
      s
        .split('/')
        .every((l, i, all) =>
          l === '#' ? i === all.length - 1 : l === '+' || (!l.includes('+') && !l.includes('#')),
        );
    const chars = fc.constantFrom('a', '/', '+', '#', '$', ' ');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 8 }), (cs) => {
        const s = cs.join('');
        expect(isValidTopicFilter(s)).toBe(reference(s));
        expect(isValidTopicName(s)).toBe(s.length > 0 && !s.includes('+') && !s.includes('#'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseSharedFilter (MQTT5 4.8.2)', () => {
  it.each([
    ['$share/consumer1/sport/tennis/+', 'consumer1', 'sport/tennis/+'],
    ['$share/consumer2/sport/tennis/+', 'consumer2', 'sport/tennis/+'],
    ['$share/consumer1//finance', 'consumer1', '/finance'],
    ['$share/g/#', 'g', '#'],
    ['$share/g/$SYS/#', 'g', '$SYS/#'],
    ['$share/$share/x', '$share', 'x'],
    ['$share/a b/x', 'a b', 'x'],
  ])('parses %j', (input, group, filter) => {
    expect(parseSharedFilter(input)).toEqual({ group, filter });
  });

  it.each(['sport/tennis/+', '#', '$share', '$SHARE/g/x', '$sharex/g/x', 'a/$share/g/x', '$SYS/#'])(
    'returns null for the non-shared filter %j',
    (input) => {
      expect(parseSharedFilter(input)).toBeNull();
    },
  );

  it.each(['$share/', '$share//x', '$share//'])('MQTT-4.8.2-1 rejects the empty ShareName in %j', (input) => {
    expect(parseSharedFilter(input)).toBe('invalid');
  });

  it.each(['$share/g+/x', '$share/+/x', '$share/#/x', '$share/g#/x', '$share/#', '$share/+'])(
    'MQTT-4.8.2-1 rejects a ShareName with a wildcard in %j',
    (input) => {
      expect(parseSharedFilter(input)).toBe('invalid');
    },
  );

  it.each(['$share/g', '$share/g/'])('MQTT-4.8.2-2 rejects a ShareName not followed by / and a filter: %j', (input) => {
    expect(parseSharedFilter(input)).toBe('invalid');
  });

  it.each(['$share/g/a#', '$share/g/a/#/b', '$share/g/a+', '$share/g/sport/tennis#'])(
    'MQTT-4.7.1-2 / MQTT-4.7.1-3 rejects the invalid inner filter of %j',
    (input) => {
      expect(parseSharedFilter(input)).toBe('invalid');
    },
  );
});

describe('isWildcardFilter', () => {
  it.each([
    ['a/b', false],
    ['/', false],
    ['$SYS/x', false],
    ['#', true],
    ['a/+', true],
    ['+/a', true],
    ['a/#', true],
  ] as const)('%j -> %s', (filter, expected) => {
    expect(isWildcardFilter(filter)).toBe(expected);
  });
});

describe('topicMatches', () => {
  // MQTT 4.7.1.2 - 4.7.3 non-normative examples, as [filter, topic, matches].
  const table: Array<[string, string, boolean, string]> = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true, 'MQTT-4.7.1-2'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true, 'MQTT-4.7.1-2'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true, 'MQTT-4.7.1-2'],
    ['sport/#', 'sport', true, 'MQTT-4.7.1-2'],
    ['#', 'sport', true, 'MQTT-4.7.1-2'],
    ['#', '/', true, 'MQTT-4.7.1-2'],
    ['sport/tennis/+', 'sport/tennis/player1', true, 'MQTT-4.7.1-3'],
    ['sport/tennis/+', 'sport/tennis/player2', true, 'MQTT-4.7.1-3'],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false, 'MQTT-4.7.1-3'],
    ['sport/+', 'sport', false, 'MQTT-4.7.1-3'],
    ['sport/+', 'sport/', true, 'MQTT-4.7.1-3'],
    ['+/+', '/finance', true, 'MQTT-4.7.1-3'],
    ['/+', '/finance', true, 'MQTT-4.7.1-3'],
    ['+', '/finance', false, 'MQTT-4.7.1-3'],
    ['+/#', 'a', true, 'MQTT-4.7.1-2'],
    ['#', '$SYS/monitor/Clients', false, 'MQTT-4.7.2-1'],
    ['#', '$SYS', false, 'MQTT-4.7.2-1'],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false, 'MQTT-4.7.2-1'],
    ['+', '$SYS', false, 'MQTT-4.7.2-1'],
    ['$SYS/#', '$SYS/monitor/Clients', true, 'MQTT-4.7.2-1'],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true, 'MQTT-4.7.2-1'],
    ['$SYS/#', '$SYS', true, 'MQTT-4.7.2-1'],
    ['a/+', 'a/$x', true, 'MQTT-4.7.2-1'], // the rule is about the first level only
    ['ACCOUNTS', 'Accounts', false, 'MQTT 4.7.3'],
    ['/finance', 'finance', false, 'MQTT 4.7.3'],
    ['finance', '/finance', false, 'MQTT 4.7.3'],
    ['Accounts payable', 'Accounts payable', true, 'MQTT 4.7.3'],
    ['a/b', 'a/b', true, 'exact'],
    ['a/b', 'a/b/c', false, 'exact'],
    ['a/b/c', 'a/b', false, 'exact'],
    ['a//b', 'a//b', true, 'empty levels'],
    ['a/+/b', 'a//b', true, 'empty levels'],
  ];
  it.each(table)('%s on %s -> %s (%s)', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('agrees with an independent regex oracle on random filters and topics', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(topicMatches(filter, topic)).toBe(regexMatches(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });
});
