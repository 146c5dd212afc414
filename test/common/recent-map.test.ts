/** RecentMap: the UDP radio's cache of parsed peer addresses, kept for the peers used lately only. */
import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../common/recent-map.js';

describe('RecentMap', () => {
  it('keeps a key used within the last `capacity` insertions; forgets one unused for two generations', () => {
    const m = new RecentMap<string, number>(3);
    for (const k of ['a', 'b', 'c']) m.set(k, 1);
    m.set('d', 1); // a new generation: a, b, c are the previous one
    expect(m.get('a')).toBe(1); // moved forward
    m.set('e', 1);
    m.set('f', 1); // another: the previous one (b, c) is dropped
    expect(m.get('b')).toBeUndefined();
    expect(m.get('c')).toBeUndefined();
    expect(m.get('a')).toBe(1);
  });

  it('never holds more than twice its capacity, whatever the number of keys', () => {
    const m = new RecentMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) m.set(i, i);
    expect(m.size).toBeLessThanOrEqual(200);
    expect(m.get(9_999)).toBe(9_999);
  });

  it('setting a key already current updates it without starting a new generation', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 1);
    m.set('b', 2);
    expect([m.get('a'), m.get('b'), m.size]).toEqual([1, 2, 2]);
  });
});
