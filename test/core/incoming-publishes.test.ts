/** IncomingPublishes: a client's QoS 1/2 messages by MsgId (Session.incoming), a Map in behaviour without its garbage. */
import { describe, expect, it } from 'vitest';
import { FLAT_LIMIT, IncomingPublishes } from '../../gateway/core/incoming-publishes.js';
import type { IncomingPublish } from '../../gateway/core/session.js';

const entry = (n: number): IncomingPublish => ({ state: 'qos1-publishing', message: { topic: `t/${n}`, topicId: n, payload: Buffer.alloc(0), retain: false } });

/** Applies the same operations to an IncomingPublishes and a Map, and checks they agree after each. */
function expectSameAsMap(ops: ['set' | 'delete', number][]): void {
  const incoming = new IncomingPublishes();
  const map = new Map<number, IncomingPublish>();
  const entries = new Map<number, IncomingPublish>();
  for (const [op, id] of ops) {
    if (op === 'set') {
      const e = entries.get(id) ?? entry(id);
      entries.set(id, e);
      incoming.set(id, e);
      map.set(id, e);
    } else {
      expect(incoming.delete(id)).toBe(map.delete(id));
    }
    expect([...incoming]).toEqual([...map]);
    expect(incoming.size).toBe(map.size);
    for (const known of entries.keys()) expect(incoming.get(known)).toBe(map.get(known));
  }
}

describe('IncomingPublishes', () => {
  it('keeps insertion order through deletes in the middle and at either end, and re-adds after emptying', () => {
    expectSameAsMap([['set', 1], ['set', 2], ['set', 3], ['delete', 2], ['set', 4], ['delete', 1], ['delete', 4], ['delete', 3], ['delete', 3], ['set', 5], ['set', 1]]);
  });

  it('a set on a present MsgId replaces its entry in place', () => {
    const incoming = new IncomingPublishes();
    incoming.set(7, entry(1));
    incoming.set(8, entry(2));
    const received: IncomingPublish = { state: 'qos2-received' };
    incoming.set(7, received);
    expect([...incoming.entries()].map(([id, e]) => [id, e.state])).toEqual([[7, 'qos2-received'], [8, 'qos1-publishing']]);
    expect(incoming.get(7)).toBe(received);
  });

  it(`behaves the same past ${FLAT_LIMIT} entries (a client with many messages held while the broker is away)`, () => {
    const ops: ['set' | 'delete', number][] = [];
    for (let id = 1; id <= 3 * FLAT_LIMIT; id++) ops.push(['set', id]);
    for (let id = 2; id <= 3 * FLAT_LIMIT; id += 3) ops.push(['delete', id]);
    ops.push(['set', 2]);
    expectSameAsMap(ops);
  });

  it('a deleted entry is no longer held (its slot is emptied, not just hidden)', () => {
    const incoming = new IncomingPublishes();
    incoming.set(1, entry(1));
    incoming.set(2, entry(2));
    incoming.delete(1);
    incoming.delete(2);
    // The array keeps its length; what it holds is what a heap snapshot would keep alive.
    const slots = (incoming as unknown as { flat: unknown[] }).flat;
    expect(slots.every((slot) => slot === undefined)).toBe(true);
  });
});
