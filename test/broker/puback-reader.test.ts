/**
 * PubackReader (gateway/broker/puback-reader.ts): the PUBACKs answering the gateway's own QoS 1 publishes
 * are taken off the broker connection's bytes; everything else reaches mqtt.js byte for byte and in order,
 * however the connection cuts its reads. Packets are made by mqtt-packet, mqtt.js's own encoder.
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PubackReader } from '../../gateway/broker/puback-reader.js';

/** Our publishes awaiting their PUBACK: ids 1-99. */
const ours = (id: number): boolean => id >= 1 && id < 100;

interface Case { bytes: Buffer; taken: boolean; id?: number; reasonCode?: number }

const puback = (id: number, version: 4 | 5, reasonCode?: number, reasonString?: string): Case => {
  const properties = reasonString === undefined ? undefined : { reasonString };
  const bytes = mqttPacket.generate({ cmd: 'puback', messageId: id, reasonCode, properties }, { protocolVersion: version });
  // Taken only in its plain forms (Remaining Length 2 or 3); with properties it goes on to mqtt.js.
  const taken = ours(id) && bytes[1] <= 3;
  return { bytes, taken, id, reasonCode: bytes[1] === 3 ? reasonCode : undefined };
};

const packetArb: fc.Arbitrary<Case> = fc.oneof(
  fc.integer({ min: 1, max: 0xffff }).map((id) => puback(id % 200, 4)), // half ours, half not (0 never is)
  fc.tuple(fc.integer({ min: 1, max: 199 }), fc.constantFrom(0, 0x10, 0x87)).map(([id, rc]) => puback(id, 5, rc)),
  fc.integer({ min: 1, max: 99 }).map((id) => puback(id, 5, 0x87, 'not authorised')),
  fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 400 }), fc.constantFrom(0 as const, 1 as const))
    .map(([topic, payload, qos]) => ({ bytes: mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, messageId: qos ? 5 : undefined, retain: false, dup: false }), taken: false })),
  fc.constant({ bytes: mqttPacket.generate({ cmd: 'pingresp' }), taken: false }),
  fc.integer({ min: 1, max: 99 }).map((id) => ({ bytes: mqttPacket.generate({ cmd: 'suback', messageId: id, granted: [1] }), taken: false })),
  fc.integer({ min: 1, max: 99 }).map((id) => ({ bytes: mqttPacket.generate({ cmd: 'pubrec', messageId: id }), taken: false })),
);

/** Feeds `stream` to a reader in chunks cut at `cuts`; returns what went through and what was taken. */
function feed(stream: Buffer, cuts: number[], ownPingreqs = 0): { passed: Buffer; acknowledged: [number, number | undefined][]; passes: Buffer[] } {
  const acknowledged: [number, number | undefined][] = [];
  const passes: Buffer[] = [];
  let owed = ownPingreqs;
  const reader = new PubackReader(ours, (id, rc) => acknowledged.push([id, rc]), () => owed > 0 && owed-- > 0);
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, stream.length]) {
    if (to <= from) continue;
    // A copy, as a socket gives fresh memory each read: the reader must not depend on what came before.
    reader.read(Buffer.from(stream.subarray(from, to)), (part) => passes.push(Buffer.from(part)));
    from = to;
  }
  return { passed: Buffer.concat(passes), acknowledged, passes };
}

describe('PubackReader (issue 13: PUBACKs read before mqtt.js parses the rest)', () => {
  it('MQTT 3.1.1 §3.4 / MQTT 5 §3.4: takes exactly the plain PUBACKs of ours, and passes everything else through in order, for any cutting of the stream', () => {
    fc.assert(fc.property(fc.array(packetArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 30 }), (packets, cuts) => {
      const stream = Buffer.concat(packets.map((p) => p.bytes));
      const { passed, acknowledged } = feed(stream, cuts);
      expect(passed).toEqual(Buffer.concat(packets.filter((p) => !p.taken).map((p) => p.bytes)));
      expect(acknowledged).toEqual(packets.filter((p) => p.taken).map((p) => [p.id, p.reasonCode]));
    }), { numRuns: 500 });
  });

  it('MQTT 3.1.1 §3.13: as many PINGRESPs as the gateway sent PINGREQs of its own (prompt-ack.ts) are taken; later ones, mqtt.js\'s, go through, for any cutting of the stream', () => {
    fc.assert(fc.property(fc.array(packetArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 30 }), fc.nat({ max: 4 }), (packets, cuts, ownPingreqs) => {
      const stream = Buffer.concat(packets.map((p) => p.bytes));
      const { passed } = feed(stream, cuts, ownPingreqs);
      let owed = ownPingreqs;
      const expected = packets.filter((p) => {
        if (p.taken) return false;
        if (p.bytes[0] === 0xd0 && owed > 0) {
          owed--;
          return false;
        }
        return true;
      });
      expect(passed).toEqual(Buffer.concat(expected.map((p) => p.bytes)));
    }), { numRuns: 500 });
  });

  it('a read with none of ours is handed on as it came (no copy), one with nothing else is not handed on at all', () => {
    const reader = new PubackReader(ours, () => {});
    const foreign = Buffer.concat([puback(150, 4).bytes, mqttPacket.generate({ cmd: 'pingresp' })]);
    const passes: Buffer[] = [];
    reader.read(foreign, (part) => passes.push(part));
    expect(passes).toHaveLength(1);
    expect(passes[0]).toBe(foreign);
    reader.read(Buffer.concat([puback(1, 4).bytes, puback(2, 4).bytes]), (part) => passes.push(part));
    expect(passes).toHaveLength(1);
    expect(reader.taken).toBe(2);
  });

  it('a PUBACK of ours cut by a read boundary is held, then taken when the rest arrives', () => {
    const acknowledged: number[] = [];
    const reader = new PubackReader(ours, (id) => acknowledged.push(id));
    const passes: Buffer[] = [];
    const bytes = puback(42, 4).bytes;
    reader.read(bytes.subarray(0, 3), (part) => passes.push(part));
    expect(acknowledged).toEqual([]);
    reader.read(bytes.subarray(3), (part) => passes.push(part));
    expect([acknowledged, passes]).toEqual([[42], []]);
  });

  it('a stream that stops being MQTT (a fifth Remaining Length byte) goes to mqtt.js untouched from there on, PUBACKs included', () => {
    const passes: Buffer[] = [];
    const reader = new PubackReader(ours, () => {});
    const garbage = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    reader.read(garbage, (part) => passes.push(part));
    const later = puback(1, 4).bytes;
    reader.read(later, (part) => passes.push(part));
    expect(passes).toEqual([garbage, later]);
    expect(reader.taken).toBe(0);
  });
});
