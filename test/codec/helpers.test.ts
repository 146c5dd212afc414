/**
 * The codec's helpers and guarantees beyond decode/encode: short topic names, frame-length
 * peeking for byte streams, type names, and payloads that are views on the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  messageTypeName,
  MsgType,
  peekFrameLength,
  shortTopicId,
  shortTopicName,
  SnCodecError,
  SnDecodeError,
  type SnMessageType,
} from '../../sn-codec/index.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('§6.7 short topic names', () => {
  it('§6.7 short topic: "ab" is TopicId 0x6162', () => {
    expect(shortTopicId('ab')).toBe(0x6162);
    expect(shortTopicName(0x6162)).toBe('ab');
  });

  it('§6.7 short topic: a two-byte UTF-8 character is a short topic name', () => {
    expect(shortTopicId('é')).toBe(0xc3a9);
    expect(shortTopicName(0xc3a9)).toBe('é');
  });

  it.each(['', 'a', 'abc', 'aé'])('§6.7 short topic: "%s" is not exactly two bytes', (name) => {
    const error = thrown(() => shortTopicId(name));
    expect(error).toBeInstanceOf(SnCodecError);
    expect((error as SnCodecError).reason).toBe('out-of-range');
  });

  it.each([-1, 65536, 1.5])('§6.7 short topic: id %s is out of range', (id) => {
    expect((thrown(() => shortTopicName(id)) as SnCodecError).reason).toBe('out-of-range');
  });

  it('§6.7 short topic: any two printable ASCII characters round-trip', () => {
    const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(printable, printable, (a, b) => {
        expect(shortTopicName(shortTopicId(a + b))).toBe(a + b);
      }),
    );
  });

  it('§5.4.12 PUBLISH: a short topic name travels as its two bytes in the TopicId field', () => {
    const frame = encode({
      type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'short', topicId: shortTopicId('tp'), msgId: 0, payload: Buffer.alloc(0),
    });
    expect(frame.subarray(3, 5).toString('latin1')).toBe('tp');
  });
});

describe('§5.2.1 peekFrameLength', () => {
  it('§5.2.1 Length: the one-byte form gives the length at once', () => {
    expect(peekFrameLength(hex('09 0c'))).toBe(9);
  });

  it('§5.2.1 Length: the three-byte form gives the uint16', () => {
    expect(peekFrameLength(hex('01 012c 0c'))).toBe(300);
  });

  it('§5.2.1 Length: undefined until enough bytes have arrived', () => {
    expect(peekFrameLength(Buffer.alloc(0))).toBeUndefined();
    expect(peekFrameLength(hex('01'))).toBeUndefined();
    expect(peekFrameLength(hex('01 01'))).toBeUndefined();
  });

  it('§5.2.1 Length: reads at an offset, as a stream framer needs', () => {
    const stream = Buffer.concat([encode({ type: 'PINGREQ' }), encode({ type: 'DISCONNECT', duration: 1 })]);
    expect(peekFrameLength(stream, 0)).toBe(2);
    expect(peekFrameLength(stream, 2)).toBe(4);
    expect(peekFrameLength(stream, 6)).toBeUndefined();
  });

  it('§5.2.1 Length: an impossible Length (0, or a three-byte value under 4) is reported, not waited for', () => {
    expect((thrown(() => peekFrameLength(hex('00'))) as SnCodecError).reason).toBe('length-mismatch');
    expect((thrown(() => peekFrameLength(hex('01 0003'))) as SnCodecError).reason).toBe('length-mismatch');
  });

  it('§5.2.1 Length: agrees with the length of every encoded frame', () => {
    for (const payloadLength of [0, 1, 248, 249, 300, 1000]) {
      const frame = encode({
        type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 1, msgId: 1, payload: Buffer.alloc(payloadLength),
      });
      expect(peekFrameLength(frame)).toBe(frame.length);
    }
  });
});

describe('§5.2.2 message type names', () => {
  it('§5.2.2 MsgType: every named code maps back to its name', () => {
    for (const [name, code] of Object.entries(MsgType)) expect(messageTypeName(code)).toBe(name as SnMessageType);
    expect(Object.keys(MsgType)).toHaveLength(28);
  });

  it('§5.2.2 MsgType: codes from the spec table', () => {
    expect(MsgType.PUBLISH).toBe(0x0c);
    expect(MsgType.SUBSCRIBE).toBe(0x12);
    expect(MsgType.WILLMSGRESP).toBe(0x1d);
    expect(MsgType.ENCAPSULATED).toBe(0xfe);
  });

  it.each([0x03, 0x11, 0x19, 0x1e, 0xfd, 0xff, -1, 256, 1.5])('§5.2.2 MsgType: %s has no name', (code) => {
    expect(messageTypeName(code)).toBeUndefined();
  });
});

describe('Buffer fields are views on the input, not copies', () => {
  it('§5.4.12 PUBLISH: mutating the frame changes the decoded payload', () => {
    const frame = hex('09 0c 20 0011 0002 6869');
    const message = decode(frame);
    if (message.type !== 'PUBLISH') throw new Error('expected PUBLISH');
    frame[7] = 0x48;
    expect(message.payload.toString()).toBe('Hi');
    expect(message.payload.buffer).toBe(frame.buffer);
  });

  it('§5.4.9 WILLMSG and §5.4.23 WILLMSGUPD: WillMsg is a view', () => {
    for (const frame of [hex('05 09 627965'), hex('05 1c 627965')]) {
      const message = decode(frame);
      if (message.type !== 'WILLMSG' && message.type !== 'WILLMSGUPD') throw new Error('expected a will message');
      frame[2] = 0x42;
      expect(message.willMsg.toString()).toBe('Bye');
    }
  });

  it('§5.4.3 GWINFO: GwAdd is a view', () => {
    const frame = hex('06 02 01 0a0b0c');
    const message = decode(frame);
    if (message.type !== 'GWINFO' || message.gwAdd === undefined) throw new Error('expected GWINFO with GwAdd');
    frame[3] = 0xff;
    expect(message.gwAdd[0]).toBe(0xff);
  });

  it('§5.5 Forwarder Encapsulation: WirelessNodeId and the inner payload are views', () => {
    const frame = hex('05 fe 01 1234  09 0c 20 0011 0002 6869');
    const message = decode(frame);
    if (message.type !== 'ENCAPSULATED' || message.message.type !== 'PUBLISH') throw new Error('expected ENCAPSULATED PUBLISH');
    frame[3] = 0xab;
    frame[12] = 0x48;
    expect(message.wirelessNodeId.toString('hex')).toBe('ab34');
    expect(message.message.payload.toString()).toBe('Hi');
  });

  it('§5.4.12 PUBLISH: encode copies the payload, so the frame does not change with it', () => {
    const payload = Buffer.from('hi');
    const frame = encode({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId: 1, msgId: 0, payload });
    payload[0] = 0x48;
    expect(frame.subarray(7).toString()).toBe('hi');
  });
});

describe('error class', () => {
  it('SnDecodeError is SnCodecError under its other name', () => {
    expect(SnDecodeError).toBe(SnCodecError);
    const error = thrown(() => decode(hex('02 03')));
    expect(error).toBeInstanceOf(SnDecodeError);
    expect(error).toMatchObject({ name: 'SnCodecError', reason: 'reserved-type' });
  });
});
