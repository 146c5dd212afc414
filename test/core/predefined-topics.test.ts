import { describe, expect, it } from 'vitest';
import { PredefinedTopics } from '../../gateway/core/predefined-topics.js';
import type { TopicsSection } from '../../gateway/config/config-types.js';

function topics(global: [number, string][], clients: Record<string, [number, string][]> = {}): PredefinedTopics {
  const section: TopicsSection = {
    predefined: new Map(global),
    clients: new Map(Object.entries(clients).map(([id, list]) => [id, { predefined: new Map(list) }])),
  };
  return new PredefinedTopics(section);
}

describe('§6.7 predefined topic ids', () => {
  const table = topics(
    [[1, 'home/garden/temperature'], [2, 'home/kitchen/humidity'], [3, 'home/shared']],
    {
      'kitchen-node': [[10, 'home/kitchen/temperature'], [2, 'kitchen/own/humidity']],
      'cellar-node': [[3, 'home/shared']],
    },
  );

  it('§6.7 a global id is known to every client, and to a QoS -1 sender without ClientId (§6.8)', () => {
    expect(table.nameOf('anyone', 1)).toBe('home/garden/temperature');
    expect(table.nameOf('kitchen-node', 1)).toBe('home/garden/temperature');
    expect(table.nameOf(undefined, 1)).toBe('home/garden/temperature');
    expect(table.idOf('anyone', 'home/garden/temperature')).toBe(1);
  });

  it('§6.7 a per-client id is known to that client only', () => {
    expect(table.nameOf('kitchen-node', 10)).toBe('home/kitchen/temperature');
    expect(table.nameOf('other-node', 10)).toBeUndefined();
    expect(table.nameOf(undefined, 10)).toBeUndefined();
    expect(table.idOf('kitchen-node', 'home/kitchen/temperature')).toBe(10);
    expect(table.idOf('other-node', 'home/kitchen/temperature')).toBeUndefined();
  });

  it('§6.7 a per-client id shadows the global id of the same number, both ways', () => {
    expect(table.nameOf('kitchen-node', 2)).toBe('kitchen/own/humidity');
    expect(table.nameOf('other-node', 2)).toBe('home/kitchen/humidity');
    // The kitchen node's id 2 means its own topic, so the global topic has no predefined id for it:
    // the gateway must register it (§6.5) rather than publish with an id the client reads differently.
    expect(table.idOf('kitchen-node', 'home/kitchen/humidity')).toBeUndefined();
    expect(table.idOf('kitchen-node', 'kitchen/own/humidity')).toBe(2);
    expect(table.idOf('other-node', 'home/kitchen/humidity')).toBe(2);
    expect(table.idOf('other-node', 'kitchen/own/humidity')).toBeUndefined();
  });

  it('§6.7 a per-client entry repeating the global one keeps the same id', () => {
    expect(table.nameOf('cellar-node', 3)).toBe('home/shared');
    expect(table.idOf('cellar-node', 'home/shared')).toBe(3);
  });

  it('unknown ids and names are undefined', () => {
    expect(table.nameOf('anyone', 99)).toBeUndefined();
    expect(table.nameOf(undefined, 0)).toBeUndefined();
    expect(table.idOf('anyone', 'not/predefined')).toBeUndefined();
  });

  it('an empty table knows nothing', () => {
    const empty = topics([]);
    expect(empty.nameOf('anyone', 1)).toBeUndefined();
    expect(empty.idOf('anyone', 'a')).toBeUndefined();
  });

  it('reverse lookups agree with forward lookups for every configured id', () => {
    for (const clientId of ['kitchen-node', 'cellar-node', 'other-node']) {
      for (const id of [1, 2, 3, 10]) {
        const name = table.nameOf(clientId, id);
        if (name !== undefined) expect(table.idOf(clientId, name)).toBe(id);
      }
    }
  });
});
