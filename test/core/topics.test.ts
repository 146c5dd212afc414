import { describe, expect, it } from 'vitest';
import { hasWildcard, isValidTopicFilter, isValidTopicName, topicMatches } from '../../gateway/core/topics.js';

describe('MQTT 3.1.1 §4.7 topic names', () => {
  it.each([
    ['a', true],
    ['a/b/c', true],
    ['/', true],
    ['a//b', true],
    ['/a', true],
    ['a/', true],
    ['$SYS/broker/uptime', true],
    ['with space/é', true],
    ['', false],
    ['a/+/c', false],
    ['a/#', false],
    ['a+b', false],
    ['#', false],
    ['a\u0000b', false],
  ])('§4.7.3 isValidTopicName(%j) = %s', (topic, valid) => {
    expect(isValidTopicName(topic)).toBe(valid);
  });

  it.each([
    ['a/b', false],
    ['a/+', true],
    ['#', true],
    ['a+', true],
  ])('hasWildcard(%j) = %s', (topic, wild) => {
    expect(hasWildcard(topic)).toBe(wild);
  });
});

describe('MQTT 3.1.1 §4.7.1 topic filters', () => {
  it.each([
    ['a', true],
    ['a/b', true],
    ['#', true],
    ['+', true],
    ['a/#', true],
    ['a/+/c', true],
    ['+/+', true],
    ['/+', true],
    ['+/', true],
    ['a//#', true],
    ['$SYS/#', true],
    ['', false],
    ['a#', false],
    ['a/#/c', false],
    ['#/a', false],
    ['a/b#', false],
    ['a+/b', false],
    ['a/+b', false],
    ['++', false],
    ['a\u0000', false],
  ])('isValidTopicFilter(%j) = %s', (filter, valid) => {
    expect(isValidTopicFilter(filter)).toBe(valid);
  });
});

describe('MQTT 3.1.1 §4.7 topicMatches(filter, topic)', () => {
  it.each([
    // exact
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    // §4.7.1.3 single level
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a', false],
    ['a/+', 'a/', true],
    ['+/+', '/a', true],
    ['+', '/a', false],
    ['/+', '/a', true],
    ['+/b/+', 'x/b/y', true],
    ['+/b/+', 'x/c/y', false],
    // §4.7.1.2 multi level: also the parent level
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/#', 'b/a', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    // empty levels are levels
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/b', 'a//b', false],
    ['/a', '/a', true],
    ['/a', 'a', false],
    ['a/', 'a/', true],
    ['a/', 'a', false],
    // §4.7.2 topics beginning with $
    ['#', '$SYS/uptime', false],
    ['+/uptime', '$SYS/uptime', false],
    ['$SYS/#', '$SYS/uptime', true],
    ['$SYS/+', '$SYS/uptime', true],
    ['a/#', 'a/$b', true],
    ['+/$b', 'a/$b', true],
  ])('topicMatches(%j, %j) = %s', (filter, topic, matches) => {
    expect(topicMatches(filter, topic)).toBe(matches);
  });

  it('is case sensitive (§4.7.3)', () => {
    expect(topicMatches('A/b', 'a/b')).toBe(false);
    expect(topicMatches('a/B', 'a/B')).toBe(true);
  });
});
