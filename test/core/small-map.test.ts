/** SmallMap: a Map's behaviour in a flat array for a session's few entries, a Map past SMALL_MAP_LIMIT. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SMALL_MAP_LIMIT, SmallMap } from '../../gateway/core/small-map.js';

/** The array a SmallMap holds besides its fields (issue 13: one entry needs none). */
class Peek<K, V> extends SmallMap<K, V> {
  get arrayLength(): number {
    return this.flat.length;
  }
}

describe('SmallMap', () => {
  it('holds one entry in fields, no array of its own; two or more in one array; one again back in the fields', () => {
    const m = new Peek<string, number>();
    m.set('a', 1);
    expect([m.arrayLength, m.size, m.get('a')]).toEqual([0, 1, 1]);
    m.set('b', 2);
    expect([m.arrayLength, [...m]]).toEqual([4, [['a', 1], ['b', 2]]]);
    m.delete('a');
    expect([m.arrayLength, [...m]]).toEqual([0, [['b', 2]]]);
  });

  it('keeps up to SMALL_MAP_LIMIT entries flat, then moves them into a Map, in the same order', () => {
    const m = new SmallMap<string, number>();
    for (let i = 0; i < SMALL_MAP_LIMIT; i++) m.set(`k${i}`, i);
    expect(m.isFlat).toBe(true);
    m.set('k0', 100); // an update is no new entry
    expect(m.isFlat).toBe(true);
    m.set('one-more', -1);
    expect(m.isFlat).toBe(false);
    expect([...m.keys()]).toEqual([...Array.from({ length: SMALL_MAP_LIMIT }, (_, i) => `k${i}`), 'one-more']);
    expect(m.get('k0')).toBe(100);
    expect(m.size).toBe(SMALL_MAP_LIMIT + 1);
  });

  it('an iteration under way sees the entries as they were when a delete came', () => {
    const m = new SmallMap<string, number>();
    m.set('a', 1).set('b', 2).set('c', 3);
    const seen: string[] = [];
    for (const [key] of m) {
      seen.push(key);
      m.delete(key);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(m.size).toBe(0);
  });

  it('behaves as a Map under any sequence of set, delete, get and has, on both sides of the limit (fast-check)', () => {
    const key = fc.integer({ min: 0, max: 2 * SMALL_MAP_LIMIT + 2 }).map((i) => `k${i}`);
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), key, fc.integer()),
      fc.tuple(fc.constant('delete' as const), key, fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const small = new SmallMap<string, number>();
        const model = new Map<string, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            small.set(k, v);
            model.set(k, v);
          } else expect(small.delete(k)).toBe(model.delete(k));
          expect(small.size).toBe(model.size);
          expect(small.get(k)).toBe(model.get(k));
          expect(small.has(k)).toBe(model.has(k));
        }
        expect([...small]).toEqual([...model]);
        expect([...small.values()]).toEqual([...model.values()]);
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });
});
