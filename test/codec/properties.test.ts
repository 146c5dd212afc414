/**
 * Property tests: decode(encode(m)) equals m for arbitrary valid messages of every type, and
 * decode of arbitrary or damaged bytes either returns a message or throws SnCodecError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  MsgType,
  SnCodecError,
  type QoS,
  type SnMessage,
  type SnMessageOf,
  type SnMessageType,
  type TopicRef,
} from '../../sn-codec/index.js';

/** ClientIds are bounded by DecodeOptions, not by these properties. */
const OPTIONS = { maxClientIdLength: 65535 };

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const qos = fc.constantFrom<QoS>(-1, 0, 1, 2);
const bytes = (maxLength: number, minLength = 0) =>
  fc.uint8Array({ minLength, maxLength }).map((array) => Buffer.from(array));
/** Any Unicode text (no lone surrogates, which UTF-8 cannot carry). */
const text = (minLength: number, maxLength = 40) => fc.string({ unit: 'binary', minLength, maxLength });

const willTopic = <T extends 'WILLTOPIC' | 'WILLTOPICUPD'>(type: T) =>
  fc.oneof(
    fc.record({ type: fc.constant(type), qos, retain: fc.boolean(), willTopic: text(1) }),
    // An empty will topic has no flags on the wire, so only the canonical form round-trips.
    fc.constant({ type, qos: 0 as QoS, retain: false, willTopic: '' }),
  );

const topicRef: fc.Arbitrary<TopicRef> = fc.oneof(
  fc.record({ topicIdType: fc.constant('normal' as const), topicName: text(1) }),
  fc.record({ topicIdType: fc.constant('predefined' as const), topicId: u16 }),
  fc.record({ topicIdType: fc.constant('short' as const), topicId: u16 }),
);

type PlainType = Exclude<SnMessageType, 'ENCAPSULATED'>;

const plainMessages: { [T in PlainType]: fc.Arbitrary<SnMessageOf<T>> } = {
  ADVERTISE: fc.record({ type: fc.constant('ADVERTISE'), gwId: u8, duration: u16 }),
  SEARCHGW: fc.record({ type: fc.constant('SEARCHGW'), radius: u8 }),
  GWINFO: fc.oneof(
    fc.record({ type: fc.constant('GWINFO'), gwId: u8 }),
    fc.record({ type: fc.constant('GWINFO'), gwId: u8, gwAdd: bytes(20, 1) }),
  ),
  CONNECT: fc.record({
    type: fc.constant('CONNECT'),
    will: fc.boolean(),
    cleanSession: fc.boolean(),
    duration: u16,
    clientId: text(1, 30),
  }),
  CONNACK: fc.record({ type: fc.constant('CONNACK'), returnCode: u8 }),
  WILLTOPICREQ: fc.constant({ type: 'WILLTOPICREQ' }),
  WILLTOPIC: willTopic('WILLTOPIC'),
  WILLMSGREQ: fc.constant({ type: 'WILLMSGREQ' }),
  WILLMSG: fc.record({ type: fc.constant('WILLMSG'), willMsg: bytes(300) }),
  REGISTER: fc.record({ type: fc.constant('REGISTER'), topicId: u16, msgId: u16, topicName: text(1, 80) }),
  REGACK: fc.record({ type: fc.constant('REGACK'), topicId: u16, msgId: u16, returnCode: u8 }),
  PUBLISH: fc.record({
    type: fc.constant('PUBLISH'),
    dup: fc.boolean(),
    qos,
    retain: fc.boolean(),
    topicIdType: fc.constantFrom('normal' as const, 'predefined' as const, 'short' as const),
    topicId: u16,
    msgId: u16,
    payload: bytes(600),
  }),
  PUBACK: fc.record({ type: fc.constant('PUBACK'), topicId: u16, msgId: u16, returnCode: u8 }),
  PUBCOMP: fc.record({ type: fc.constant('PUBCOMP'), msgId: u16 }),
  PUBREC: fc.record({ type: fc.constant('PUBREC'), msgId: u16 }),
  PUBREL: fc.record({ type: fc.constant('PUBREL'), msgId: u16 }),
  SUBSCRIBE: fc.record({
    type: fc.constant('SUBSCRIBE'),
    dup: fc.boolean(),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    msgId: u16,
    topic: topicRef,
  }),
  SUBACK: fc.record({ type: fc.constant('SUBACK'), qos, topicId: u16, msgId: u16, returnCode: u8 }),
  UNSUBSCRIBE: fc.record({ type: fc.constant('UNSUBSCRIBE'), msgId: u16, topic: topicRef }),
  UNSUBACK: fc.record({ type: fc.constant('UNSUBACK'), msgId: u16 }),
  PINGREQ: fc.oneof(
    fc.constant({ type: 'PINGREQ' as const }),
    fc.record({ type: fc.constant('PINGREQ' as const), clientId: text(1, 30) }),
  ),
  PINGRESP: fc.constant({ type: 'PINGRESP' }),
  DISCONNECT: fc.oneof(
    fc.constant({ type: 'DISCONNECT' as const }),
    fc.record({ type: fc.constant('DISCONNECT' as const), duration: u16 }),
  ),
  WILLTOPICUPD: willTopic('WILLTOPICUPD'),
  WILLTOPICRESP: fc.record({ type: fc.constant('WILLTOPICRESP'), returnCode: u8 }),
  WILLMSGUPD: fc.record({ type: fc.constant('WILLMSGUPD'), willMsg: bytes(300) }),
  WILLMSGRESP: fc.record({ type: fc.constant('WILLMSGRESP'), returnCode: u8 }),
};

const anyPlainMessage: fc.Arbitrary<SnMessage> = fc.oneof(...Object.values(plainMessages));

const encapsulated: fc.Arbitrary<SnMessageOf<'ENCAPSULATED'>> = fc.record({
  type: fc.constant('ENCAPSULATED'),
  radius: fc.integer({ min: 0, max: 3 }),
  wirelessNodeId: bytes(20),
  message: anyPlainMessage,
});

const allMessages: { [T in SnMessageType]: fc.Arbitrary<SnMessage> } = { ...plainMessages, ENCAPSULATED: encapsulated };
const anyMessage: fc.Arbitrary<SnMessage> = fc.oneof(anyPlainMessage, encapsulated);

const SECTION: Record<SnMessageType, string> = {
  ADVERTISE: '§5.4.1', SEARCHGW: '§5.4.2', GWINFO: '§5.4.3', CONNECT: '§5.4.4', CONNACK: '§5.4.5',
  WILLTOPICREQ: '§5.4.6', WILLTOPIC: '§5.4.7', WILLMSGREQ: '§5.4.8', WILLMSG: '§5.4.9',
  REGISTER: '§5.4.10', REGACK: '§5.4.11', PUBLISH: '§5.4.12', PUBACK: '§5.4.13',
  PUBCOMP: '§5.4.14', PUBREC: '§5.4.14', PUBREL: '§5.4.14',
  SUBSCRIBE: '§5.4.15', SUBACK: '§5.4.16', UNSUBSCRIBE: '§5.4.17', UNSUBACK: '§5.4.18',
  PINGREQ: '§5.4.19', PINGRESP: '§5.4.20', DISCONNECT: '§5.4.21',
  WILLTOPICUPD: '§5.4.22', WILLMSGUPD: '§5.4.23', WILLTOPICRESP: '§5.4.24', WILLMSGRESP: '§5.4.25',
  ENCAPSULATED: '§5.5',
};

/** Decodes, and checks that anything thrown is an SnCodecError. Returns the message or undefined. */
function decodeOrCodecError(frame: Buffer): SnMessage | undefined {
  try {
    return decode(frame, OPTIONS);
  } catch (error) {
    expect(error).toBeInstanceOf(SnCodecError);
    return undefined;
  }
}

/** A decoded message is valid: it encodes, and that encoding reads back as the same message. */
function expectCanonical(message: SnMessage): void {
  expect(decode(encode(message), OPTIONS)).toEqual(message);
}

describe('round trip: decode(encode(m)) deep-equals m', () => {
  const cases = (Object.keys(allMessages) as SnMessageType[]).map((type) => [SECTION[type], type] as const);
  it.each(cases)('%s %s: decode(encode(m)) equals m', (_section, type) => {
    fc.assert(
      fc.property(allMessages[type], (message) => {
        const frame = encode(message);
        expect(frame.length).toBeLessThanOrEqual(65535);
        expect(decode(frame, OPTIONS)).toEqual(message);
      }),
      { numRuns: 200 },
    );
  });

  it('§5.2.1 Length: encode picks the one-byte form exactly when the frame fits in 255 bytes', () => {
    fc.assert(
      fc.property(anyPlainMessage, (message) => {
        const frame = encode(message);
        if (frame.length <= 255) expect(frame[0]).toBe(frame.length);
        else expect([frame[0], frame.readUInt16BE(1)]).toEqual([0x01, frame.length]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('robustness: decode of any bytes returns a message or throws SnCodecError', () => {
  it('§5.2 arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (array) => {
        const message = decodeOrCodecError(Buffer.from(array));
        if (message !== undefined) expectCanonical(message);
      }),
      { numRuns: 2000 },
    );
  });

  it('§5.2 a correct Length and any MsgType with an arbitrary variable part', () => {
    const code = fc.oneof(fc.constantFrom(...Object.values(MsgType)), u8);
    fc.assert(
      fc.property(code, fc.uint8Array({ maxLength: 40 }), (msgType, body) => {
        const frame = Buffer.concat([Buffer.from([body.length + 2, msgType]), body]);
        const message = decodeOrCodecError(frame);
        if (message !== undefined) expectCanonical(message);
      }),
      { numRuns: 3000 },
    );
  });

  it('§5.5 an encapsulation around an arbitrary frame', () => {
    fc.assert(
      fc.property(u8, bytes(10), fc.uint8Array({ maxLength: 40 }), (ctrl, nodeId, inner) => {
        const frame = Buffer.concat([Buffer.from([nodeId.length + 3, MsgType.ENCAPSULATED, ctrl]), nodeId, inner]);
        const message = decodeOrCodecError(frame);
        if (message !== undefined) expectCanonical(message);
      }),
      { numRuns: 2000 },
    );
  });

  it('§5.2 valid frames with bytes flipped, cut or appended', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: u8 }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(anyMessage, fc.array(damage, { minLength: 1, maxLength: 4 }), (message, damages) => {
        let frame = Buffer.from(encode(message));
        for (const d of damages) {
          if (d.kind === 'flip' && frame.length > 0) frame[d.at % frame.length] = d.value;
          else if (d.kind === 'cut') frame = frame.subarray(0, d.at % (frame.length + 1));
          else if (d.kind === 'append') frame = Buffer.concat([frame, d.extra]);
        }
        const decoded = decodeOrCodecError(frame);
        if (decoded !== undefined) expectCanonical(decoded);
      }),
      { numRuns: 2000 },
    );
  });
});
