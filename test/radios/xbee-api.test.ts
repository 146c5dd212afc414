import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BROADCAST_64,
  checksum,
  decodeApiFrame,
  encodeApiFrame,
  encodeTransmitRequest,
  encodeTx16Request,
  encodeTx64Request,
  UNKNOWN_16,
  XBeeApiParser,
} from '../../radios/xbee-api.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Digi's worked examples (XBee 3 Zigbee user guide, "Frame descriptions").
const DIGI_TX_REQUEST = hex('7E 0016 10 01 0013A200400A0127 FFFE 00 00 547844617461 3041 13'); // "TxData0A"
const DIGI_RX_PACKET = hex('7E 0012 90 0013A20040522BAA 7D84 01 527844617461 0D'); // "RxData"
const DIGI_TX_STATUS = hex('7E 0007 8B 01 7D84 00 00 01 71');
/** The same Transmit Status in API=2: its 7D is escaped. */
const DIGI_TX_STATUS_ESCAPED = hex('7E 0007 8B 01 7D5D 84 00 00 01 71');

// MQTT-SN 1.2 §5.4.4 CONNECT, clean session, duration 60, ClientId "testcli".
const CONNECT = Buffer.from([0x0d, 0x04, 0x04, 0x01, 0x00, 0x3c, ...Buffer.from('testcli')]);

describe('XBee API frame encoding', () => {
  it('checksum is 0xFF minus the low byte of the frame-data sum (Digi example 0x13)', () => {
    expect(checksum(DIGI_TX_REQUEST.subarray(3, -1))).toBe(0x13);
  });

  it('0x10 Transmit Request matches Digi\'s example byte for byte (API=1)', () => {
    const frameData = encodeTransmitRequest({
      frameId: 1,
      destination64: hex('0013A200400A0127'),
      destination16: UNKNOWN_16,
      radius: 0,
      options: 0,
      data: Buffer.from('TxData0A'),
    });
    expect(encodeApiFrame(frameData, 1)).toEqual(DIGI_TX_REQUEST);
  });

  it('API=2 escapes 7E 7D 11 13 after the start byte, checksum included (0x13 → 7D 33)', () => {
    const frameData = DIGI_TX_REQUEST.subarray(3, -1);
    // 0x13 appears twice: in the destination address and as the checksum.
    expect(encodeApiFrame(frameData, 2)).toEqual(hex('7E 0016 10 01 00 7D33 A200400A0127 FFFE 00 00 547844617461 3041 7D33'));
    // Digi's escaping example: 7E 00 02 23 11 CB → 7E 00 02 23 7D 31 CB.
    expect(encodeApiFrame(Buffer.from([0x23, 0x11]), 2)).toEqual(hex('7E 0002 23 7D31 CB'));
  });

  it('API=2 escapes a length byte that needs it (0x7E → 7D 5E)', () => {
    const frameData = Buffer.alloc(0x7e, 0x41);
    frameData[0] = 0x90;
    const wire = encodeApiFrame(frameData, 2);
    expect(wire.subarray(0, 4)).toEqual(hex('7E 00 7D 5E'));
  });

  it('0x00 TX64 and 0x01 TX16 requests (802.15.4)', () => {
    expect(encodeTx64Request({ frameId: 5, destination64: BROADCAST_64, options: 0, data: hex('0216') })).toEqual(
      hex('00 05 000000000000FFFF 00 0216'),
    );
    expect(encodeTx16Request({ frameId: 6, destination16: 0x1234, options: 0, data: hex('0216') })).toEqual(hex('01 06 1234 00 0216'));
  });
});

describe('XBee API frame decoding', () => {
  it('0x90 Receive Packet: 64-bit and 16-bit source, options, payload (Digi example)', () => {
    expect(decodeApiFrame(DIGI_RX_PACKET.subarray(3, -1))).toEqual({
      type: 'receivePacket',
      source64: hex('0013A20040522BAA'),
      source16: 0x7d84,
      options: 0x01,
      data: Buffer.from('RxData'),
    });
  });

  it('0x8B Transmit Status (Digi example)', () => {
    expect(decodeApiFrame(DIGI_TX_STATUS.subarray(3, -1))).toEqual({
      type: 'transmitStatus',
      frameId: 1,
      destination16: 0x7d84,
      retries: 0,
      deliveryStatus: 0,
      discoveryStatus: 1,
    });
  });

  it('0x80 RX64, 0x81 RX16 and 0x89 TX Status (802.15.4)', () => {
    expect(decodeApiFrame(hex('80 0013A20040A1B2C3 28 00 0216'))).toEqual({
      type: 'rx64',
      source64: hex('0013A20040A1B2C3'),
      rssi: 0x28,
      options: 0,
      data: hex('0216'),
    });
    expect(decodeApiFrame(hex('81 BEEF 28 02 0216'))).toEqual({ type: 'rx16', source16: 0xbeef, rssi: 0x28, options: 2, data: hex('0216') });
    expect(decodeApiFrame(hex('89 07 01'))).toEqual({ type: 'txStatus', frameId: 7, status: 1 });
  });

  it('frames too short for their type are malformed; unknown types are "other"', () => {
    expect(decodeApiFrame(hex('90 0013A200'))).toMatchObject({ type: 'malformed', frameType: 0x90 });
    expect(decodeApiFrame(hex('8A 00'))).toEqual({ type: 'other', frameType: 0x8a });
  });
});

describe('XBeeApiParser', () => {
  it('parses Digi\'s Receive Packet in API=1, where 7D is plain data', () => {
    const result = new XBeeApiParser(1).push(DIGI_RX_PACKET);
    expect(result.frames).toEqual([DIGI_RX_PACKET.subarray(3, -1)]);
    expect(result.problems).toEqual([]);
  });

  it('API=2: unescapes 7D xx back to the original bytes', () => {
    expect(new XBeeApiParser(2).push(DIGI_TX_STATUS_ESCAPED).frames).toEqual([DIGI_TX_STATUS.subarray(3, -1)]);
    const frameData = Buffer.concat([hex('90 0013A20040522BAA 7D84 01'), Buffer.from([0x7e, 0x7d, 0x11, 0x13])]);
    const wire = encodeApiFrame(frameData, 2);
    expect(wire.length).toBeGreaterThan(frameData.length + 4 + 4); // 7D84 and the four specials escaped
    expect(new XBeeApiParser(2).push(wire).frames).toEqual([frameData]);
  });

  it('reassembles a frame split byte by byte, and several frames in one read', () => {
    const parser = new XBeeApiParser(2);
    const frames: Buffer[] = [];
    const wire = encodeApiFrame(Buffer.concat([hex('90 0013A20040A1B2C3 FFFE 01'), CONNECT]), 2);
    for (const byte of wire) frames.push(...parser.push(Buffer.of(byte)).frames);
    expect(frames).toHaveLength(1);
    const three = Buffer.concat([wire, DIGI_TX_STATUS_ESCAPED, wire]);
    expect(parser.push(three).frames).toHaveLength(3);
  });

  it('drops a frame with a bad checksum and reports it; the next frame still parses', () => {
    const bad = Buffer.from(DIGI_TX_STATUS);
    bad[bad.length - 1] ^= 0xff;
    const result = new XBeeApiParser(1).push(Buffer.concat([bad, DIGI_RX_PACKET]));
    expect(result.problems).toEqual([{ kind: 'checksum', frameType: 0x8b, length: 7 }]);
    expect(result.frames).toEqual([DIGI_RX_PACKET.subarray(3, -1)]);
  });

  it('skips and counts garbage between frames until the next start byte', () => {
    const garbage = Buffer.from('OK\r'); // an AT-mode reply left on the line
    const result = new XBeeApiParser(1).push(Buffer.concat([garbage, DIGI_TX_STATUS, garbage, DIGI_RX_PACKET]));
    expect(result.frames).toHaveLength(2);
    expect(result.skippedBytes).toBe(2 * garbage.length);
  });

  it('API=2: a start byte inside a frame cuts it short and begins the next one', () => {
    const result = new XBeeApiParser(2).push(Buffer.concat([DIGI_TX_STATUS_ESCAPED.subarray(0, 5), DIGI_TX_STATUS_ESCAPED]));
    expect(result.problems).toEqual([{ kind: 'truncated', received: 4, length: 7 }]);
    expect(result.frames).toEqual([DIGI_TX_STATUS.subarray(3, -1)]);
  });

  it('rejects an impossible length and resynchronises on the next start byte', () => {
    const result = new XBeeApiParser(1).push(Buffer.concat([hex('7E 0000'), hex('7E FFFF'), DIGI_TX_STATUS]));
    expect(result.problems).toEqual([
      { kind: 'length', length: 0 },
      { kind: 'length', length: 0xffff },
    ]);
    expect(result.frames).toHaveLength(1);
  });

  it('API=1: a stray 0x7E with a plausible length does not swallow the real frames behind it', () => {
    // Line noise: a start byte announcing 256 bytes, then real frames arrive.
    const noise = hex('7E 0100 12');
    const wire = Buffer.concat([noise, DIGI_RX_PACKET, ...Array(30).fill(DIGI_TX_STATUS)]);
    const parser = new XBeeApiParser(1);
    const frames: Buffer[] = [];
    const problems: unknown[] = [];
    for (let i = 0; i < wire.length; i += 7) {
      const r = parser.push(wire.subarray(i, i + 7));
      frames.push(...r.frames);
      problems.push(...r.problems);
    }
    expect(problems).toEqual([{ kind: 'checksum', frameType: 0x12, length: 256 }]);
    expect(frames[0]).toEqual(DIGI_RX_PACKET.subarray(3, -1));
    expect(frames).toHaveLength(31);
  });

  it('property: any frame-data survives encode → parse in both modes, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 120 }),
        fc.constantFrom(1 as const, 2 as const),
        fc.array(fc.nat(200), { maxLength: 6 }),
        (data, mode, cuts) => {
          const frameData = Buffer.from(data);
          const wire = Buffer.concat([encodeApiFrame(frameData, mode), encodeApiFrame(frameData, mode)]);
          const parser = new XBeeApiParser(mode);
          const frames: Buffer[] = [];
          let at = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            const end = Math.min(cut, wire.length);
            if (end <= at) continue;
            frames.push(...parser.push(wire.subarray(at, end)).frames);
            at = end;
          }
          frames.push(...parser.push(wire.subarray(at)).frames);
          expect(frames).toEqual([frameData, frameData]);
        },
      ),
    );
  });
});
