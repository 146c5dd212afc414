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
    expect(table.nameOf({ clientId: 'anyone' }, 1)).toBe('home/garden/temperature');
    expect(table.nameOf({ clientId: 'kitchen-node' }, 1)).toBe('home/garden/temperature');
    expect(table.nameOf({}, 1)).toBe('home/garden/temperature');
    expect(table.idOf({ clientId: 'anyone' }, 'home/garden/temperature')).toBe(1);
  });

  it('§6.7 a per-client id is known to that client only', () => {
    expect(table.nameOf({ clientId: 'kitchen-node' }, 10)).toBe('home/kitchen/temperature');
    expect(table.nameOf({ clientId: 'other-node' }, 10)).toBeUndefined();
    expect(table.nameOf({}, 10)).toBeUndefined();
    expect(table.idOf({ clientId: 'kitchen-node' }, 'home/kitchen/temperature')).toBe(10);
    expect(table.idOf({ clientId: 'other-node' }, 'home/kitchen/temperature')).toBeUndefined();
  });

  it('§6.7 a per-client id shadows the global id of the same number, both ways', () => {
    expect(table.nameOf({ clientId: 'kitchen-node' }, 2)).toBe('kitchen/own/humidity');
    expect(table.nameOf({ clientId: 'other-node' }, 2)).toBe('home/kitchen/humidity');
    // The kitchen node's id 2 means its own topic, so the global topic has no predefined id for it:
    // the gateway must register it (§6.5) rather than publish with an id the client reads differently.
    expect(table.idOf({ clientId: 'kitchen-node' }, 'home/kitchen/humidity')).toBeUndefined();
    expect(table.idOf({ clientId: 'kitchen-node' }, 'kitchen/own/humidity')).toBe(2);
    expect(table.idOf({ clientId: 'other-node' }, 'home/kitchen/humidity')).toBe(2);
    expect(table.idOf({ clientId: 'other-node' }, 'kitchen/own/humidity')).toBeUndefined();
  });

  it('§6.7 a per-client entry repeating the global one keeps the same id', () => {
    expect(table.nameOf({ clientId: 'cellar-node' }, 3)).toBe('home/shared');
    expect(table.idOf({ clientId: 'cellar-node' }, 'home/shared')).toBe(3);
  });

  it('unknown ids and names are undefined', () => {
    expect(table.nameOf({ clientId: 'anyone' }, 99)).toBeUndefined();
    expect(table.nameOf({}, 0)).toBeUndefined();
    expect(table.idOf({ clientId: 'anyone' }, 'not/predefined')).toBeUndefined();
  });

  it('an empty table knows nothing', () => {
    const empty = topics([]);
    expect(empty.nameOf({ clientId: 'anyone' }, 1)).toBeUndefined();
    expect(empty.idOf({ clientId: 'anyone' }, 'a')).toBeUndefined();
  });

  it('reverse lookups agree with forward lookups for every configured id', () => {
    for (const clientId of ['kitchen-node', 'cellar-node', 'other-node']) {
      for (const id of [1, 2, 3, 10]) {
        const name = table.nameOf({ clientId }, id);
        if (name !== undefined) expect(table.idOf({ clientId }, name)).toBe(id);
      }
    }
  });
});

describe('§6.7 predefined topic templates (fleets)', () => {
  const fleet = topics(
    [[1, 'sensors/{clientId}/temperature'], [2, 'radio/{address}/reading'], [3, 'plain/topic']],
    { 'kitchen-node': [[4, 'kitchen/{clientId}/{address}'], [1, 'kitchen/own']] },
  );

  it('§6.7 {clientId} expands to the asking client, so one id serves a fleet', () => {
    expect(fleet.nameOf({ clientId: 'node-a', address: 'udp:127.0.0.1:1' }, 1)).toBe('sensors/node-a/temperature');
    expect(fleet.nameOf({ clientId: 'node-b', address: 'udp:127.0.0.1:2' }, 1)).toBe('sensors/node-b/temperature');
  });

  it('§6.8 {address} expands for a QoS -1 sender without ClientId; {clientId} refuses it', () => {
    expect(fleet.nameOf({ address: 'xbee:0013a20040a1b2c3' }, 2)).toBe('radio/xbee:0013a20040a1b2c3/reading');
    expect(fleet.lookup({ address: 'udp:127.0.0.1:1' }, 1)).toEqual({ refused: '{clientId} is unknown for a sender that has not connected' });
  });

  it('§6.7 a template that expands to an invalid topic name is refused with the reason', () => {
    const found = fleet.lookup({ clientId: 'bad+id', address: 'udp:127.0.0.1:1' }, 1);
    expect(found).toEqual({ refused: 'expands to "sensors/bad+id/temperature", which is not a valid topic name' });
    expect(fleet.nameOf({ clientId: 'bad+id', address: 'udp:127.0.0.1:1' }, 1)).toBeUndefined();
  });

  it('§6.7 templates work in per-client sections and shadow the global id there', () => {
    const asker = { clientId: 'kitchen-node', address: 'udp:127.0.0.1:9' };
    expect(fleet.nameOf(asker, 4)).toBe('kitchen/kitchen-node/udp:127.0.0.1:9');
    expect(fleet.nameOf(asker, 1)).toBe('kitchen/own');
    expect(fleet.idOf(asker, 'sensors/kitchen-node/temperature')).toBeUndefined();
  });

  it('§6.7 deliveries find the templated id of the receiving client only', () => {
    expect(fleet.idOf({ clientId: 'node-a', address: 'udp:127.0.0.1:1' }, 'sensors/node-a/temperature')).toBe(1);
    expect(fleet.idOf({ clientId: 'node-b', address: 'udp:127.0.0.1:2' }, 'sensors/node-a/temperature')).toBeUndefined();
    expect(fleet.idOf({ clientId: 'node-a', address: 'udp:127.0.0.1:1' }, 'radio/udp:127.0.0.1:1/reading')).toBe(2);
    expect(fleet.idOf({ clientId: 'node-a', address: 'udp:127.0.0.1:1' }, 'plain/topic')).toBe(3);
  });
});
