/**
 * Malformed frames and unencodable messages: each raises SnCodecError with the expected reason.
 */
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  SnCodecError,
  type DecodeOptions,
  type SnCodecErrorReason,
  type SnMessage,
} from '../../sn-codec/index.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** The SnCodecError decode raises for `bytes`; fails the test if it returns or throws anything else. */
function decodeError(bytes: Buffer | Uint8Array, options?: DecodeOptions): SnCodecError {
  try {
    const message = decode(bytes as Buffer, options);
    throw new Error(`expected an SnCodecError, decoded ${JSON.stringify(message)}`);
  } catch (error) {
    if (!(error instanceof SnCodecError)) throw error;
    return error;
  }
}

function encodeError(message: unknown): SnCodecError {
  try {
    const frame = encode(message as SnMessage);
    throw new Error(`expected an SnCodecError, encoded ${frame.toString('hex')}`);
  } catch (error) {
    if (!(error instanceof SnCodecError)) throw error;
    return error;
  }
}

function expectDecodeReason(bytes: Buffer, reason: SnCodecErrorReason, options?: DecodeOptions): void {
  expect(decodeError(bytes, options).reason).toBe(reason);
}

function expectEncodeReason(message: unknown, reason: SnCodecErrorReason): void {
  expect(encodeError(message).reason).toBe(reason);
}

describe('§5.2.1 Length and datagram size', () => {
  it('§5.2.1 Length: an empty datagram is truncated', () => {
    expectDecodeReason(Buffer.alloc(0), 'truncated');
  });

  it('§5.2.1 Length: a lone Length byte is truncated', () => {
    expectDecodeReason(hex('02'), 'truncated');
  });

  it('§5.2.1 Length: a three-byte Length without MsgType is truncated', () => {
    expectDecodeReason(hex('01 0004'), 'truncated');
  });

  it('§5.2.1 Length: a Length of 0 is rejected', () => {
    expectDecodeReason(hex('00 16'), 'length-mismatch');
  });

  it('§5.2.1 Length: a three-byte Length under 4 is rejected', () => {
    expectDecodeReason(hex('01 0003 16'), 'length-mismatch');
    expectDecodeReason(hex('01 0000 16'), 'length-mismatch');
  });

  it('§5.2.1 Length: longer than the datagram is a mismatch', () => {
    expectDecodeReason(hex('05 16'), 'length-mismatch');
  });

  it('§5.2.1 Length: shorter than the datagram is a mismatch (one frame per datagram)', () => {
    expectDecodeReason(hex('02 16 61'), 'length-mismatch');
  });

  it('§5.2.1 Length: a three-byte Length disagreeing with the datagram is a mismatch', () => {
    expectDecodeReason(hex('01 0005 16'), 'length-mismatch');
    expectDecodeReason(hex('01 0004 16 00'), 'length-mismatch');
  });

  it('§5.2.1 Length: a non-Buffer input is refused with SnCodecError', () => {
    expect(decodeError('0216' as unknown as Buffer).reason).toBe('truncated');
  });

  it('§5.2.1 Length: a plain Uint8Array is accepted like a Buffer', () => {
    expect(decode(new Uint8Array([0x04, 0x18, 0x0e, 0x10]) as Buffer)).toEqual({ type: 'DISCONNECT', duration: 3600 });
  });
});

describe('§5.2.2 MsgType', () => {
  const reserved = [0x03, 0x11, 0x19, 0x1e, 0x1f, 0x80, 0xfd, 0xff].map((code) => [code.toString(16).padStart(2, '0'), code] as const);
  it.each(reserved)('§5.2.2 MsgType: reserved code 0x%s is rejected', (_hex, code) => {
    expectDecodeReason(Buffer.from([2, code]), 'reserved-type');
  });

  it('§5.2.2 MsgType: encode refuses an unknown type', () => {
    expectEncodeReason({ type: 'HELLO' }, 'reserved-type');
    expectEncodeReason({ type: 'toString' }, 'reserved-type');
  });

  it('§5.2.2 MsgType: encode refuses a non-object', () => {
    expectEncodeReason(null, 'missing-field');
  });
});

describe('fixed-size messages: too short is truncated, too long is a length mismatch', () => {
  const fixed: [string, Buffer][] = [
    ['§5.4.1 ADVERTISE', hex('05 00 05 0384')],
    ['§5.4.2 SEARCHGW', hex('03 01 01')],
    ['§5.4.5 CONNACK', hex('03 05 00')],
    ['§5.4.6 WILLTOPICREQ', hex('02 06')],
    ['§5.4.8 WILLMSGREQ', hex('02 08')],
    ['§5.4.11 REGACK', hex('07 0b 0011 0001 00')],
    ['§5.4.13 PUBACK', hex('07 0d 0011 0002 00')],
    ['§5.4.14 PUBCOMP', hex('04 0e 0003')],
    ['§5.4.14 PUBREC', hex('04 0f 0003')],
    ['§5.4.14 PUBREL', hex('04 10 0003')],
    ['§5.4.16 SUBACK', hex('08 13 20 0011 0004 00')],
    ['§5.4.18 UNSUBACK', hex('04 15 0007')],
    ['§5.4.20 PINGRESP', hex('02 17')],
    ['§5.4.24 WILLTOPICRESP', hex('03 1b 00')],
    ['§5.4.25 WILLMSGRESP', hex('03 1d 00')],
  ];

  it.each(fixed)('%s with one extra byte (Length adjusted) is a length mismatch', (_name, frame) => {
    const longer = Buffer.concat([frame, hex('00')]);
    longer[0] += 1;
    expect(decode(frame)).toBeDefined();
    expectDecodeReason(longer, 'length-mismatch');
  });

  it.each(fixed.filter(([, frame]) => frame.length > 2))('%s one byte short (Length adjusted) is truncated', (_name, frame) => {
    const shorter = Buffer.from(frame.subarray(0, frame.length - 1));
    shorter[0] -= 1;
    expectDecodeReason(shorter, 'truncated');
  });
});

describe('messages with a variable tail', () => {
  it('§5.4.3 GWINFO: no GwId is truncated', () => {
    expectDecodeReason(hex('02 02'), 'truncated');
  });

  it('§5.4.4 CONNECT: fewer than Flags, ProtocolId and Duration is truncated', () => {
    expectDecodeReason(hex('05 04 04 01 00'), 'truncated');
  });

  it('§5.4.10 REGISTER: fewer than TopicId and MsgId is truncated', () => {
    expectDecodeReason(hex('05 0a 0000 00'), 'truncated');
  });

  it('§5.4.12 PUBLISH: fewer than Flags, TopicId and MsgId is truncated', () => {
    expectDecodeReason(hex('06 0c 20 0001 00'), 'truncated');
  });

  it('§5.4.15 SUBSCRIBE: fewer than Flags and MsgId is truncated', () => {
    expectDecodeReason(hex('04 12 20 00'), 'truncated');
  });

  it('§5.4.17 UNSUBSCRIBE: fewer than Flags and MsgId is truncated', () => {
    expectDecodeReason(hex('03 14 00'), 'truncated');
  });

  it('§5.4.21 DISCONNECT: a one-byte Duration is truncated', () => {
    expectDecodeReason(hex('03 18 0e'), 'truncated');
  });

  it('§5.4.21 DISCONNECT: more than a Duration is a length mismatch', () => {
    expectDecodeReason(hex('05 18 0e10 00'), 'length-mismatch');
  });
});

describe('§5.3.4 Flags: reserved TopicIdType 0b11', () => {
  it('§5.3.4 Flags: PUBLISH with TopicIdType 0b11 is rejected', () => {
    expectDecodeReason(hex('07 0c 23 0001 0001'), 'reserved-topic-id-type');
  });

  it('§5.3.4 Flags: SUBSCRIBE with TopicIdType 0b11 is rejected', () => {
    expectDecodeReason(hex('07 12 23 0001 0001'), 'reserved-topic-id-type');
  });

  it('§5.3.4 Flags: UNSUBSCRIBE with TopicIdType 0b11 is rejected', () => {
    expectDecodeReason(hex('07 14 03 0001 0001'), 'reserved-topic-id-type');
  });

  it('§5.3.4 Flags: encode refuses an unknown topicIdType', () => {
    expectEncodeReason(
      { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'reserved', topicId: 1, msgId: 0, payload: Buffer.alloc(0) },
      'reserved-topic-id-type',
    );
    expectEncodeReason({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'x', topicId: 1 } }, 'reserved-topic-id-type');
  });
});

describe('§5.3.8 ProtocolId', () => {
  it('§5.3.8 ProtocolId: CONNECT with ProtocolId 0x02 is rejected', () => {
    expectDecodeReason(hex('07 04 04 02 003c 63'), 'bad-protocol-id');
  });

  it('§5.3.8 ProtocolId: CONNECT with ProtocolId 0x00 is rejected', () => {
    expectDecodeReason(hex('07 04 04 00 003c 63'), 'bad-protocol-id');
  });
});

describe('§5.4.15 SUBSCRIBE: QoS -1 and topic forms', () => {
  it('§5.4.15 SUBSCRIBE: QoS -1 is not allowed on decode', () => {
    expectDecodeReason(hex('08 12 60 0004 612f23'), 'qos-not-allowed');
  });

  it('§5.4.15 SUBSCRIBE: QoS -1 is not allowed on encode', () => {
    expectEncodeReason({ type: 'SUBSCRIBE', dup: false, qos: -1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'a' } }, 'qos-not-allowed');
  });

  it('§5.4.15 SUBSCRIBE: by name with an empty name is a missing field', () => {
    expectDecodeReason(hex('05 12 20 0004'), 'missing-field');
  });

  it('§5.4.15 SUBSCRIBE: a one-byte short topic name is truncated', () => {
    expectDecodeReason(hex('06 12 22 0004 61'), 'truncated');
  });

  it('§5.4.15 SUBSCRIBE: a three-byte short topic name is a length mismatch', () => {
    expectDecodeReason(hex('08 12 22 0004 616263'), 'length-mismatch');
  });

  it('§5.4.15 SUBSCRIBE: a predefined TopicId must be exactly two bytes', () => {
    expectDecodeReason(hex('05 12 21 0004'), 'truncated');
    expectDecodeReason(hex('08 12 21 0004 000100'), 'length-mismatch');
  });

  it('§5.4.17 UNSUBSCRIBE: by name with an empty name is a missing field', () => {
    expectDecodeReason(hex('05 14 00 0004'), 'missing-field');
  });

  it('§5.4.17 UNSUBSCRIBE: a short topic name must be exactly two bytes', () => {
    expectDecodeReason(hex('06 14 02 0004 61'), 'truncated');
    expectDecodeReason(hex('08 14 02 0004 616263'), 'length-mismatch');
  });

  it('§5.4.15 SUBSCRIBE: encode refuses an empty topic name', () => {
    expectEncodeReason({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'normal', topicName: '' } }, 'missing-field');
  });

  it('§5.4.17 UNSUBSCRIBE: encode refuses a missing topic', () => {
    expectEncodeReason({ type: 'UNSUBSCRIBE', msgId: 1 }, 'missing-field');
  });
});

describe('mandatory fields', () => {
  it('§5.4.10 REGISTER: no TopicName is a missing field', () => {
    expectDecodeReason(hex('06 0a 0000 0001'), 'missing-field');
  });

  it('§5.4.10 REGISTER: encode refuses an empty TopicName', () => {
    expectEncodeReason({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: '' }, 'missing-field');
  });
});

describe('§5.3.1 ClientId', () => {
  const id24 = 'x'.repeat(24);
  /** CONNECT (CleanSession, Duration 60) with these ClientId bytes and the matching Length. */
  const connectWith = (clientId: string) =>
    Buffer.concat([Buffer.from([6 + Buffer.byteLength(clientId), 0x04, 0x04, 0x01, 0x00, 0x3c]), Buffer.from(clientId)]);

  it('§5.3.1 ClientId: CONNECT without ClientId is a bad client id', () => {
    expectDecodeReason(hex('06 04 04 01 003c'), 'bad-client-id');
  });

  it('§5.3.1 ClientId: CONNECT with 23 bytes is accepted', () => {
    const frame = connectWith('x'.repeat(23));
    expect(decode(frame)).toMatchObject({ type: 'CONNECT', clientId: 'x'.repeat(23) });
  });

  it('§5.3.1 ClientId: CONNECT with 24 bytes is a bad client id by default', () => {
    const frame = connectWith(id24);
    expectDecodeReason(frame, 'bad-client-id');
  });

  it('§5.3.1 ClientId: DecodeOptions.maxClientIdLength admits longer ids and can tighten the limit', () => {
    const frame = connectWith(id24);
    expect(decode(frame, { maxClientIdLength: 64 })).toMatchObject({ clientId: id24 });
    expectDecodeReason(hex('07 04 04 01 003c 61'), 'bad-client-id', { maxClientIdLength: 0 });
  });

  it('§5.3.1 ClientId: the limit counts UTF-8 bytes', () => {
    const twelveEs = 'é'.repeat(12); // 24 bytes, 12 characters
    const frame = connectWith(twelveEs);
    expect(frame.length).toBe(6 + 24);
    expectDecodeReason(frame, 'bad-client-id');
  });

  it('§5.4.19 PINGREQ: a ClientId over the limit is a bad client id', () => {
    const frame = Buffer.concat([hex('1a 16'), Buffer.from(id24)]);
    expectDecodeReason(frame, 'bad-client-id');
    expect(decode(frame, { maxClientIdLength: 24 })).toEqual({ type: 'PINGREQ', clientId: id24 });
  });

  it('§5.4.4 CONNECT: encode refuses an empty ClientId', () => {
    expectEncodeReason({ type: 'CONNECT', will: false, cleanSession: true, duration: 1, clientId: '' }, 'bad-client-id');
  });

  it('§5.4.19 PINGREQ: encode refuses an empty ClientId (it would read back as no ClientId)', () => {
    expectEncodeReason({ type: 'PINGREQ', clientId: '' }, 'bad-client-id');
  });
});

describe('§5.5 Forwarder Encapsulation', () => {
  it('§5.5 Forwarder Encapsulation: a malformed inner frame raises the inner reason and says where', () => {
    const error = decodeError(hex('04 fe 00 01  07 0c 23 0001 0001'));
    expect(error.reason).toBe('reserved-topic-id-type');
    expect(error.message).toMatch(/ENCAPSULATED/);
  });

  it('§5.5 Forwarder Encapsulation: an inner Length disagreeing with the rest of the datagram is a mismatch', () => {
    expect(decodeError(hex('04 fe 00 01  03 16')).reason).toBe('length-mismatch');
  });

  it('§5.5 Forwarder Encapsulation: no inner frame is truncated', () => {
    expectDecodeReason(hex('04 fe 00 01'), 'truncated');
  });

  it('§5.5 Forwarder Encapsulation: an outer Length past the datagram is truncated', () => {
    expectDecodeReason(hex('09 fe 00 01 02 16'), 'truncated');
  });

  it('§5.5 Forwarder Encapsulation: no Ctrl byte is truncated', () => {
    expectDecodeReason(hex('02 fe 02 16'), 'truncated');
  });

  it('§5.5 Forwarder Encapsulation: an encapsulation inside an encapsulation is refused', () => {
    expectDecodeReason(hex('03 fe 00  05 fe 00 01 02 16'), 'reserved-type');
    expectEncodeReason(
      { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), message: { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), message: { type: 'PINGREQ' } } },
      'reserved-type',
    );
  });

  it('§5.5 Forwarder Encapsulation: encode refuses a radius that does not fit two bits', () => {
    expectEncodeReason({ type: 'ENCAPSULATED', radius: 4, wirelessNodeId: Buffer.alloc(1), message: { type: 'PINGREQ' } }, 'out-of-range');
  });

  it('§5.5 Forwarder Encapsulation: encode refuses a datagram over 65535 bytes', () => {
    const payload = Buffer.alloc(65535 - 4 - 5 - 3);
    const message = { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'normal', topicId: 1, msgId: 0, payload } as const;
    expect(encode(message).length).toBe(65535 - 3);
    expectEncodeReason({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.alloc(1), message }, 'frame-too-large');
  });
});

describe('encode: values that do not fit their field', () => {
  const publish = { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 1, msgId: 1, payload: Buffer.alloc(0) };

  it.each([65536, -1, 1.5, Number.NaN])('§5.3.7 MsgId: %s is out of range', (msgId) => {
    expectEncodeReason({ ...publish, msgId }, 'out-of-range');
    expectEncodeReason({ type: 'PUBACK', topicId: 1, msgId, returnCode: 0 }, 'out-of-range');
    expectEncodeReason({ type: 'PUBREL', msgId }, 'out-of-range');
  });

  it('§5.3.11 TopicId: 65536 is out of range in PUBLISH, REGISTER and SUBSCRIBE', () => {
    expectEncodeReason({ ...publish, topicId: 65536 }, 'out-of-range');
    expectEncodeReason({ type: 'REGISTER', topicId: 65536, msgId: 1, topicName: 'a' }, 'out-of-range');
    expectEncodeReason({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'short', topicId: 0x10000 } }, 'out-of-range');
    expectEncodeReason({ type: 'UNSUBSCRIBE', msgId: 1, topic: { topicIdType: 'predefined', topicId: -1 } }, 'out-of-range');
  });

  it('§5.3.3 Duration: over 65535 is out of range', () => {
    expectEncodeReason({ type: 'ADVERTISE', gwId: 1, duration: 65536 }, 'out-of-range');
    expectEncodeReason({ type: 'CONNECT', will: false, cleanSession: true, duration: 70000, clientId: 'c' }, 'out-of-range');
    expectEncodeReason({ type: 'DISCONNECT', duration: -5 }, 'out-of-range');
  });

  it('§5.3.6 GwId and §5.3.9 Radius: over 255 is out of range', () => {
    expectEncodeReason({ type: 'ADVERTISE', gwId: 256, duration: 1 }, 'out-of-range');
    expectEncodeReason({ type: 'GWINFO', gwId: 256 }, 'out-of-range');
    expectEncodeReason({ type: 'SEARCHGW', radius: 256 }, 'out-of-range');
  });

  it('§5.3.10 ReturnCode: over 255 is out of range', () => {
    expectEncodeReason({ type: 'CONNACK', returnCode: 256 }, 'out-of-range');
    expectEncodeReason({ type: 'SUBACK', qos: 0, topicId: 1, msgId: 1, returnCode: -1 }, 'out-of-range');
  });

  it('§5.3.4 Flags: a QoS other than -1, 0, 1, 2 is out of range', () => {
    expectEncodeReason({ ...publish, qos: 3 }, 'out-of-range');
    expectEncodeReason({ type: 'WILLTOPIC', qos: 5, retain: false, willTopic: 'w' }, 'out-of-range');
    expectEncodeReason({ type: 'SUBACK', qos: 0.5, topicId: 1, msgId: 1, returnCode: 0 }, 'out-of-range');
  });

  it('encode refuses fields of the wrong kind instead of throwing a TypeError', () => {
    expectEncodeReason({ ...publish, payload: 'text' }, 'out-of-range');
    expectEncodeReason({ type: 'CONNECT', will: false, cleanSession: true, duration: 1, clientId: 42 }, 'out-of-range');
  });

  it('§5.2.1 Length: a PUBLISH over 65535 bytes is too large', () => {
    const largest = { ...publish, payload: Buffer.alloc(65535 - 9) };
    expect(encode(largest as SnMessage).length).toBe(65535);
    expectEncodeReason({ ...publish, payload: Buffer.alloc(65535 - 8) }, 'frame-too-large');
  });
});
