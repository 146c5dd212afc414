/** InFlight: the upstream's QoS 1 publishes awaiting their PUBACK by packet id, a Map in behaviour without its garbage (issue 13). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../gateway/broker/in-flight.js';

describe('InFlight', () => {
  it('agrees with a Map under any sequence of sets and deletes, colliding ids and growth included', () => {
    // Ids from a small set of low bits and high bits: many share a slot in a 64-slot table.
    const id = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 1023 })).map(([high, low]) => ((high << 13) | (low & 0x1fff)) || 1);
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete'), id);
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const table = new InFlight<number>();
      const map = new Map<number, number>();
      ops.forEach(([kind, key], n) => {
        if (kind === 'set') {
          table.set(key, n);
          map.set(key, n);
        } else {
          expect(table.delete(key)).toBe(map.delete(key));
        }
        expect(table.size).toBe(map.size);
      });
      for (const [key, value] of map) expect(table.get(key)).toBe(value);
      expect(new Map(table.entries())).toEqual(map);
      for (const [, key] of ops) expect(table.has(key)).toBe(map.has(key));
    }), { numRuns: 300 });
  });

  it('holds 65,535 ids at once, the whole packet-id space', () => {
    const table = new InFlight<number>();
    for (let id = 1; id <= 0xffff; id++) table.set(id, id);
    expect(table.size).toBe(0xffff);
    expect(table.get(0xffff)).toBe(0xffff);
    for (let id = 1; id <= 0xffff; id += 2) table.delete(id);
    expect([table.size, table.get(2), table.get(3)]).toEqual([32_767, 2, undefined]);
  });
});
