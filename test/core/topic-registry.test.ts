/** TopicRegistry (§6.5 name ↔ topic id) and the id allocation on top of it, flat and past SMALL_MAP_LIMIT. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forgetTopicId, newSession, registerTopic } from '../../gateway/core/session.js';
import { SMALL_MAP_LIMIT } from '../../gateway/core/small-map.js';
import { TopicRegistry } from '../../gateway/core/topic-registry.js';

const link = { radio: 'udp0', address: 'udp:127.0.0.1:1' };

/** The array a TopicRegistry holds besides its fields (issue 13: two pairs need none). */
class Peek extends TopicRegistry {
  get arrayLength(): number {
    return this.flat.length;
  }
}

describe('TopicRegistry', () => {
  it('§6.5 holds two pairs (a sensor\'s topic and its subscribed name) in fields, no array; a third moves all into one; two again back', () => {
    const r = new Peek();
    r.set('up', 1);
    r.set('down', 2);
    expect([r.arrayLength, [...r]]).toEqual([0, [['up', 1], ['down', 2]]]);
    r.set('third', 3);
    expect([r.arrayLength, r.nameOf(3)]).toEqual([6, 'third']);
    r.deleteId(1);
    expect([r.arrayLength, [...r]]).toEqual([0, [['down', 2], ['third', 3]]]);
    expect(r.deleteId(2)).toBe('down');
    expect([...r]).toEqual([['third', 3]]);
  });

  it('keeps a sensor\'s few topics flat and moves past SMALL_MAP_LIMIT into Maps, both ways', () => {
    const r = new TopicRegistry();
    for (let i = 1; i <= SMALL_MAP_LIMIT; i++) r.set(`t/${i}`, i);
    expect(r.isFlat).toBe(true);
    r.set('t/more', 100);
    expect(r.isFlat).toBe(false);
    expect(r.size).toBe(SMALL_MAP_LIMIT + 1);
    expect(r.idOf('t/3')).toBe(3);
    expect(r.nameOf(100)).toBe('t/more');
    expect(r.deleteId(3)).toBe('t/3');
    expect(r.idOf('t/3')).toBeUndefined();
    expect([...r].length).toBe(SMALL_MAP_LIMIT);
  });

  it('stays one-to-one: setting a name or an id again replaces its old pair', () => {
    const r = new TopicRegistry();
    r.set('a', 1);
    r.set('a', 2); // the name moves to a new id
    expect(r.nameOf(1)).toBeUndefined();
    r.set('b', 2); // the id goes to another name
    expect(r.idOf('a')).toBeUndefined();
    expect([...r]).toEqual([['b', 2]]);
  });

  it('agrees with a pair of Maps under any sequence of set and deleteId, on both sides of the limit (fast-check)', () => {
    const name = fc.integer({ min: 0, max: 2 * SMALL_MAP_LIMIT + 2 }).map((i) => `t/${i}`);
    const id = fc.integer({ min: 1, max: 2 * SMALL_MAP_LIMIT + 2 });
    const op = fc.oneof(fc.tuple(fc.constant('set' as const), name, id), fc.tuple(fc.constant('delete' as const), name, id));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const r = new TopicRegistry();
        const byName = new Map<string, number>();
        const byId = new Map<number, string>();
        for (const [kind, n, i] of ops) {
          if (kind === 'set') {
            const old = byName.get(n);
            if (old !== undefined) byId.delete(old);
            const oldName = byId.get(i);
            if (oldName !== undefined) byName.delete(oldName);
            byName.set(n, i);
            byId.set(i, n);
            r.set(n, i);
          } else {
            const gone = byId.get(i);
            if (gone !== undefined) byName.delete(gone);
            byId.delete(i);
            expect(r.deleteId(i)).toBe(gone);
          }
          expect(r.size).toBe(byName.size);
          expect(r.idOf(n)).toBe(byName.get(n));
          expect(r.nameOf(i)).toBe(byId.get(i));
        }
        expect(new Map(r)).toEqual(byName);
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });
});

describe('§6.5 topic id allocation on the registry', () => {
  it('§6.5 past SMALL_MAP_LIMIT topics, wrap-around still skips 0x0000, 0xFFFF and ids in use', () => {
    const s = newSession('c', link, 0);
    for (let i = 1; i <= SMALL_MAP_LIMIT + 2; i++) expect(registerTopic(s, `t/${i}`)).toBe(i);
    expect(s.topics.isFlat).toBe(false);
    s.nextTopicId = 0xfffe;
    expect(registerTopic(s, 'last')).toBe(0xfffe);
    expect(registerTopic(s, 'wrapped')).toBe(SMALL_MAP_LIMIT + 3);
    expect(forgetTopicId(s, 2)).toBe('t/2');
    s.nextTopicId = 0xfffe;
    expect(registerTopic(s, 'into-the-gap')).toBe(2);
  });

  it('§6.5 a client holds at most 0xFFFE ids: the next name gets none, and a forgotten id is given out again', () => {
    const s = newSession('c', link, 0);
    for (let i = 1; i <= 0xfffe; i++) registerTopic(s, `t/${i}`);
    expect(s.topics.size).toBe(0xfffe);
    expect(registerTopic(s, 'one-too-many')).toBeUndefined();
    expect(registerTopic(s, 't/77')).toBe(77);
    expect(forgetTopicId(s, 500)).toBe('t/500');
    expect(registerTopic(s, 'late')).toBe(500);
  });
});
