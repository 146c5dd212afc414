/**
 * The aggregating upstream's pre-encoded PUBLISH (gateway/broker/publish-packet.ts) is byte for byte
 * what mqtt.js's own encoder (mqtt-packet) writes, for MQTT 3.1.1 and 5, every QoS, short and long
 * remaining lengths; and its packet-id space never hands one id to both owners.
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketIds } from '../../gateway/broker/packet-ids.js';
import { encodePublish, markDup } from '../../gateway/broker/publish-packet.js';
import { PublishBatch } from '../../gateway/broker/publish-batch.js';

function reference(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, messageId: number, dup: boolean, protocolVersion: 4 | 5): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos, retain, dup, messageId: qos > 0 ? messageId : undefined, properties: protocolVersion === 5 ? {} : undefined }, { protocolVersion });
}

describe('MQTT PUBLISH encoding (MQTT 3.1.1 §3.3, MQTT 5 §3.3)', () => {
  it('MQTT 3.1.1 §3.3: the same bytes as mqtt-packet for any topic, payload, QoS, retain and packet id', () => {
    fc.assert(fc.property(
      fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.uint8Array({ maxLength: 20_000 }), fc.constantFrom(0 as const, 1 as const, 2 as const),
      fc.boolean(), fc.integer({ min: 1, max: 0xffff }), fc.constantFrom(4 as const, 5 as const),
      (topic, bytes, qos, retain, id, version) => {
        const payload = Buffer.from(bytes);
        expect(encodePublish(topic, payload, qos, retain, id, version === 5)).toEqual(reference(topic, payload, qos, retain, id, false, version));
      },
    ), { numRuns: 300 });
  });

  it('MQTT 3.1.1 §2.2.3: remaining lengths at the 1/2/3-byte boundaries', () => {
    for (const size of [0, 120, 121, 122, 16_378, 16_379, 16_380, 200_000]) {
      const payload = Buffer.alloc(size, 7);
      expect(encodePublish('a/b', payload, 1, false, 9, false)).toEqual(reference('a/b', payload, 1, false, 9, false, 4));
    }
  });

  it('MQTT 3.1.1 §3.3.1.1: markDup sets only the DUP flag of an encoded PUBLISH', () => {
    const packet = encodePublish('t', Buffer.from('x'), 1, true, 300, false);
    markDup(packet);
    expect(packet).toEqual(reference('t', Buffer.from('x'), 1, true, 300, true, 4));
  });
});

describe('packet ids shared with mqtt.js', () => {
  it('MQTT 3.1.1 §2.3.1: an id held by the gateway is never handed to mqtt.js, nor one held by mqtt.js to the gateway', () => {
    const ids = new PacketIds();
    const ours = new Set<number>();
    const theirs = new Set<number>();
    for (let i = 0; i < 40_000; i++) ours.add(ids.allocate()!);
    for (let i = 0; i < 25_535; i++) theirs.add(ids.forMqttJs.allocate()!);
    expect(ours.size + theirs.size).toBe(65_535);
    expect([...ours].some((id) => theirs.has(id))).toBe(false);
    expect(ids.allocate()).toBeUndefined(); // the space is full: the caller answers congestion
    expect(ids.forMqttJs.allocate()).toBeNull();
  });

  it("MQTT 3.1.1 §4.4: mqtt.js clearing its ids on CONNACK leaves the gateway's in flight, and it cannot register one of ours", () => {
    const ids = new PacketIds();
    const mine = ids.allocate()!;
    const its = ids.forMqttJs.allocate()!;
    ids.forMqttJs.clear();
    expect(ids.ownInUse).toBe(1);
    expect(ids.forMqttJs.register(mine)).toBe(false); // mqtt.js resending its store must not take it
    expect(ids.forMqttJs.register(its)).toBe(true);
    ids.release(mine);
    expect(ids.ownInUse).toBe(0);
    expect(ids.forMqttJs.register(mine)).toBe(true);
  });

  /** How many more ids the gateway could take for its own publishes (takes them all). */
  const freeForGateway = (ids: PacketIds): number => {
    let n = 0;
    while (ids.allocate() !== undefined) n++;
    return n;
  };

  it('MQTT 3.1.1 §4.4: clear on CONNACK frees the ids mqtt.js registered (its store resent), none allocated', () => {
    const ids = new PacketIds();
    expect(ids.forMqttJs.register(400)).toBe(true);
    expect(ids.forMqttJs.register(401)).toBe(true);
    ids.forMqttJs.clear();
    expect(freeForGateway(ids)).toBe(65_535);
  });

  it('MQTT 3.1.1 §4.4: clear on CONNACK frees the ids mqtt.js allocated and still holds, and only those', () => {
    const ids = new PacketIds();
    const mine = ids.allocate()!;
    const its = [ids.forMqttJs.allocate()!, ids.forMqttJs.allocate()!];
    ids.forMqttJs.deallocate(its[0]);
    ids.forMqttJs.clear();
    expect(ids.forMqttJs.register(mine)).toBe(false);
    expect(freeForGateway(ids)).toBe(65_534); // all but ours
  });

  it('MQTT 3.1.1 §4.4: after mqtt.js has released every id, ids it takes later are still freed by the next clear', () => {
    const ids = new PacketIds();
    ids.forMqttJs.deallocate(ids.forMqttJs.allocate()!);
    ids.forMqttJs.clear();
    ids.forMqttJs.allocate();
    ids.forMqttJs.clear();
    expect(freeForGateway(ids)).toBe(65_535);
  });

  it('ids rotate: a released id is not handed out again at once', () => {
    const ids = new PacketIds();
    const first = ids.allocate()!;
    ids.release(first);
    expect(ids.allocate()).not.toBe(first);
  });
});

describe('PublishBatch: one event-loop turn\'s PUBLISHes in one chunk (issue 13)', () => {
  it('MQTT 3.1.1 §3.3: a batch is the packets mqtt-packet would write, one after the other, in the order added', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 50 }), fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(0 as const, 1 as const), fc.boolean(), fc.integer({ min: 1, max: 0xffff }), fc.boolean()), { minLength: 1, maxLength: 30 }),
      fc.constantFrom(4 as const, 5 as const),
      (messages, version) => {
        const batch = new PublishBatch();
        for (const [topic, bytes, qos, retain, id, dup] of messages) batch.add(topic, Buffer.from(bytes), qos, retain, id, version === 5, dup && qos > 0);
        const expected = Buffer.concat(messages.map(([topic, bytes, qos, retain, id, dup]) => reference(topic, Buffer.from(bytes), qos, retain, id, dup && qos > 0, version)));
        expect(batch.take()).toEqual(expected);
        expect(batch.take()).toBeUndefined(); // taken: the next turn starts empty
      },
    ), { numRuns: 200 });
  });

  it('a message larger than the batch buffer grows it', () => {
    const batch = new PublishBatch();
    batch.add('small', Buffer.from('a'), 1, false, 1, false, false);
    batch.add('big', Buffer.alloc(100_000, 9), 1, false, 2, false, false);
    expect(batch.take()).toEqual(Buffer.concat([reference('small', Buffer.from('a'), 1, false, 1, false, 4), reference('big', Buffer.alloc(100_000, 9), 1, false, 2, false, 4)]));
  });

  it('a taken chunk is its own: the next turn\'s packets do not change it while the stream still holds it', () => {
    const batch = new PublishBatch();
    batch.add('first', Buffer.from('a'), 1, false, 1, false, false);
    const chunk = batch.take()!;
    batch.add('other', Buffer.from('b'), 0, true, 0, false, false);
    expect(chunk).toEqual(reference('first', Buffer.from('a'), 1, false, 1, false, 4));
    expect(batch.take()).toEqual(reference('other', Buffer.from('b'), 0, true, 0, false, 4));
  });
});
