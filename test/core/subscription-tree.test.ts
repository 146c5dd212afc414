import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SubscriptionTree } from '../../gateway/core/subscription-tree.js';
import { topicMatches } from '../../gateway/core/topics.js';

/** Sorted "subscriber@filter:qos" strings, so comparisons ignore walk order. */
function matched(tree: SubscriptionTree<string>, topic: string): string[] {
  return tree.match(topic).map((m) => `${m.subscriber}@${m.filter}:${m.qos}`).sort();
}

function treeOf(...filters: string[]): SubscriptionTree<string> {
  const tree = new SubscriptionTree<string>();
  for (const f of filters) tree.add(f, f, 0);
  return tree;
}

function matchingFilters(tree: SubscriptionTree<string>, topic: string): string[] {
  return tree.match(topic).map((m) => m.filter).sort();
}

describe('SubscriptionTree matching (MQTT 3.1.1 §4.7)', () => {
  it('§4.7.1.3 "+" matches exactly one level, including an empty one', () => {
    const tree = treeOf('a/+', '+/b', '+', '+/+', 'a/+/c');
    expect(matchingFilters(tree, 'a/b')).toEqual(['+/+', '+/b', 'a/+']);
    expect(matchingFilters(tree, 'a')).toEqual(['+']);
    expect(matchingFilters(tree, 'a/')).toEqual(['+/+', 'a/+']);
    expect(matchingFilters(tree, 'a/x/c')).toEqual(['a/+/c']);
    expect(matchingFilters(tree, 'a/b/c/d')).toEqual([]);
  });

  it('§4.7.1.2 "#" matches any number of levels, and "a/#" matches "a" itself', () => {
    const tree = treeOf('#', 'a/#', 'a/b/#', 'b/#');
    expect(matchingFilters(tree, 'a')).toEqual(['#', 'a/#']);
    expect(matchingFilters(tree, 'a/b')).toEqual(['#', 'a/#', 'a/b/#']);
    expect(matchingFilters(tree, 'a/b/c/d')).toEqual(['#', 'a/#', 'a/b/#']);
    expect(matchingFilters(tree, 'ab')).toEqual(['#']);
    expect(matchingFilters(tree, 'c')).toEqual(['#']);
  });

  it('§4.7.1.2 "+/#" needs at least one level and matches every depth below it', () => {
    const tree = treeOf('+/#', 'a/+/#');
    expect(matchingFilters(tree, 'x')).toEqual(['+/#']);
    expect(matchingFilters(tree, 'a/b')).toEqual(['+/#', 'a/+/#']);
    expect(matchingFilters(tree, 'a')).toEqual(['+/#']);
  });

  it('§4.7.2 topics starting with "$" are not matched by a leading "#" or "+"', () => {
    const tree = treeOf('#', '+/uptime', '+/+', '$SYS/#', '$SYS/+', '$SYS/uptime', 'a/#');
    expect(matchingFilters(tree, '$SYS/uptime')).toEqual(['$SYS/#', '$SYS/+', '$SYS/uptime']);
    expect(matchingFilters(tree, '$SYS')).toEqual(['$SYS/#']);
    // Only the first level is special: a '$' further down is an ordinary character.
    expect(matchingFilters(tree, 'a/$x')).toEqual(['#', '+/+', 'a/#']);
  });

  it('empty levels are levels: "a//b", "/a", "a/"', () => {
    const tree = treeOf('a//b', 'a/+/b', '/a', '+/a', '/#', 'a/', 'a/b');
    expect(matchingFilters(tree, 'a//b')).toEqual(['a/+/b', 'a//b']);
    expect(matchingFilters(tree, '/a')).toEqual(['+/a', '/#', '/a']);
    expect(matchingFilters(tree, 'a/')).toEqual(['a/']);
    expect(matchingFilters(tree, 'a')).toEqual([]);
    expect(matchingFilters(tree, '/')).toEqual(['/#']);
  });

  it('matching is exact on characters: case, and filters sharing a prefix', () => {
    const tree = treeOf('home/Kitchen', 'home/kit');
    expect(matchingFilters(tree, 'home/kitchen')).toEqual([]);
    expect(matchingFilters(tree, 'home/Kitchen')).toEqual(['home/Kitchen']);
  });

  it('every matching subscriber is reported once per filter, with its QoS and the filter', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/b', 'alice', 1);
    tree.add('a/+', 'alice', 2);
    tree.add('a/b', 'bob', 0);
    expect(matched(tree, 'a/b')).toEqual(['alice@a/+:2', 'alice@a/b:1', 'bob@a/b:0']);
    expect(matched(tree, 'a/c')).toEqual(['alice@a/+:2']);
  });
});

describe('SubscriptionTree bookkeeping', () => {
  it('add returns the subscriber count of the filter; re-adding updates the QoS without counting twice', () => {
    const tree = new SubscriptionTree<string>();
    expect(tree.add('a/b', 'alice', 0)).toBe(1);
    expect(tree.add('a/b', 'bob', 1)).toBe(2);
    expect(tree.add('a/b', 'alice', 2)).toBe(2);
    expect(matched(tree, 'a/b')).toEqual(['alice@a/b:2', 'bob@a/b:1']);
    expect(tree.size).toBe(1);
  });

  it('remove returns what is left; the filter goes at zero; unknown removals return 0', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/b', 'alice', 0);
    tree.add('a/b', 'bob', 1);
    expect(tree.remove('a/b', 'alice')).toBe(1);
    expect(tree.size).toBe(1);
    expect(tree.remove('a/b', 'bob')).toBe(0);
    expect(tree.size).toBe(0);
    expect(matched(tree, 'a/b')).toEqual([]);
    expect(tree.remove('a/b', 'bob')).toBe(0);
    expect(tree.remove('x/y/z', 'bob')).toBe(0);
    expect(tree.size).toBe(0);
  });

  it('removing a subscriber who never subscribed leaves the others', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a', 'alice', 1);
    expect(tree.remove('a', 'mallory')).toBe(1);
    expect(tree.size).toBe(1);
    expect(matched(tree, 'a')).toEqual(['alice@a:1']);
  });

  it('a filter that is only an inner node (a prefix of another) is not counted and matches nothing', () => {
    const tree = treeOf('a/b/c');
    expect(tree.size).toBe(1);
    expect(tree.remove('a/b', 'a/b')).toBe(0);
    expect(tree.size).toBe(1);
    expect(matchingFilters(tree, 'a/b')).toEqual([]);
  });

  it('size counts distinct filters with subscribers', () => {
    const tree = treeOf('a', 'a/b', 'a/#', '#', '+/b');
    tree.add('a', 'second', 1);
    expect(tree.size).toBe(5);
    tree.remove('a', 'a');
    expect(tree.size).toBe(5);
    tree.remove('a', 'second');
    expect(tree.size).toBe(4);
  });

  it('pruning: removing a deep filter drops its empty branch but keeps shared ancestors that still hold filters', () => {
    const tree = treeOf('a', 'a/b/c/d');
    tree.remove('a/b/c/d', 'a/b/c/d');
    expect(tree.size).toBe(1);
    expect(matchingFilters(tree, 'a')).toEqual(['a']);
    // Adding the pruned path again works from scratch.
    tree.add('a/b/c/d', 'again', 1);
    expect(matched(tree, 'a/b/c/d')).toEqual(['again@a/b/c/d:1']);
    // Removing the ancestor's subscriber leaves the deep filter reachable.
    tree.remove('a', 'a');
    expect(matched(tree, 'a/b/c/d')).toEqual(['again@a/b/c/d:1']);
    expect(tree.size).toBe(1);
  });

  it('pruning: churn leaves the tree empty and answering nothing', () => {
    const tree = new SubscriptionTree<number>();
    for (let i = 0; i < 200; i++) tree.add(`s/${i % 7}/+/${i}`, i, i % 3);
    expect(tree.size).toBe(200);
    for (let i = 0; i < 200; i++) expect(tree.remove(`s/${i % 7}/+/${i}`, i)).toBe(0);
    expect(tree.size).toBe(0);
    expect(tree.match('s/1/x/8')).toEqual([]);
    // The root has no children left: nothing internal survives the churn.
    expect((tree as unknown as { root: { children: Map<string, unknown> } }).root.children.size).toBe(0);
  });
});

describe('SubscriptionTree agrees with topicMatches (fast-check)', () => {
  // Small alphabets so that random filters and topics collide often.
  const level = fc.constantFrom('a', 'b', '', '$SYS', '$x');
  const filterLevel = fc.constantFrom('a', 'b', '', '+', '$SYS');
  const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/'));
  const filter = fc
    .tuple(fc.array(filterLevel, { minLength: 0, maxLength: 4 }), fc.boolean())
    .map(([ls, hash]) => (hash ? [...ls, '#'] : ls))
    .filter((ls) => ls.length > 0)
    .map((ls) => ls.join('/'));

  it('match(topic) returns exactly the added filters for which topicMatches(filter, topic)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filter, { maxLength: 12 }), fc.array(topic, { minLength: 1, maxLength: 8 }), (filters, topics) => {
        const tree = treeOf(...filters);
        for (const t of topics) {
          const expected = filters.filter((f) => topicMatches(f, t)).sort();
          expect(matchingFilters(tree, t)).toEqual(expected);
        }
      }),
      { numRuns: 500, seed: 0x5eed },
    );
  });

  it('after random removals the tree still agrees, and size counts the filters left', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filter, { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), topic, (filters, keep, t) => {
        const tree = treeOf(...filters);
        const kept = filters.filter((_, i) => keep[i]);
        filters.forEach((f, i) => { if (!keep[i]) tree.remove(f, f); });
        expect(tree.size).toBe(kept.length);
        expect(matchingFilters(tree, t)).toEqual(kept.filter((f) => topicMatches(f, t)).sort());
      }),
      { numRuns: 500, seed: 0x5eed },
    );
  });
});
