/** Subscriptions (§5.4.15 SUBSCRIBE, §5.4.16 SUBACK, §5.4.17 UNSUBSCRIBE, §5.4.18 UNSUBACK). */
import type { MessageCodec } from '../codec.js';
import { Flags, MsgType } from '../constants.js';
import { expectBodyAtLeast, expectBodyLength, fail, qosOf, readUint16, readUtf8, topicIdTypeOf } from '../read.js';
import type { SubackMessage, SubscribeMessage, TopicRef, UnsubscribeMessage } from '../types.js';
import {
  allocFrame,
  checkUint16,
  checkUint8,
  nonEmptyUtf8Length,
  qosFlags,
  topicIdTypeFlags,
  writeUint16,
} from '../write.js';
import { msgIdCodec } from './shapes.js';

/** The tail of SUBSCRIBE/UNSUBSCRIBE: a TopicName (normal) or a two-byte TopicId (predefined, short). */
function decodeTopicRef(type: string, flags: number, buf: Buffer, p: number, end: number): TopicRef {
  const topicIdType = topicIdTypeOf(type, flags);
  if (topicIdType === 'normal') {
    if (p === end) fail('missing-field', `${type}: TopicName is missing`);
    return { topicIdType, topicName: readUtf8(buf, p, end) };
  }
  expectBodyLength(`${type} ${topicIdType} TopicId`, end - p, 2);
  return { topicIdType, topicId: readUint16(buf, p) };
}

/** Bytes the topic takes in the frame; also checks it. */
function topicRefLength(type: string, topic: TopicRef): number {
  if (topic === null || typeof topic !== 'object') fail('missing-field', `${type}: topic is missing`);
  topicIdTypeFlags(type, topic.topicIdType);
  if (topic.topicIdType === 'normal') return nonEmptyUtf8Length(type, 'topicName', topic.topicName);
  checkUint16(type, 'topicId', topic.topicId);
  return 2;
}

function writeTopicRef(out: Buffer, p: number, topic: TopicRef): void {
  if (topic.topicIdType === 'normal') out.write(topic.topicName, p, 'utf8');
  else writeUint16(out, p, topic.topicId);
}

/** §5.4.15: Flags(1: DUP, QoS, TopicIdType) MsgId(2) TopicName(n) or TopicId(2). QoS -1 is not allowed. */
export const SUBSCRIBE: MessageCodec<SubscribeMessage> = {
  code: MsgType.SUBSCRIBE,
  decode(buf, p, end) {
    expectBodyAtLeast('SUBSCRIBE', end - p, 3);
    const flags = buf[p];
    const qos = qosOf(flags);
    if (qos === -1) fail('qos-not-allowed', 'SUBSCRIBE: QoS -1 is not allowed');
    return {
      type: 'SUBSCRIBE',
      dup: (flags & Flags.DUP) !== 0,
      qos,
      msgId: readUint16(buf, p + 1),
      topic: decodeTopicRef('SUBSCRIBE', flags, buf, p + 3, end),
    };
  },
  encode(m) {
    if (m.qos === (-1 as number)) fail('qos-not-allowed', 'SUBSCRIBE: QoS -1 is not allowed');
    const flags = (m.dup ? Flags.DUP : 0) | qosFlags('SUBSCRIBE', m.qos);
    const msgId = checkUint16('SUBSCRIBE', 'msgId', m.msgId);
    const bodyLength = 3 + topicRefLength('SUBSCRIBE', m.topic);
    const out = allocFrame('SUBSCRIBE', MsgType.SUBSCRIBE, bodyLength);
    const p = out.length - bodyLength;
    out[p] = flags | topicIdTypeFlags('SUBSCRIBE', m.topic.topicIdType);
    writeUint16(out, p + 1, msgId);
    writeTopicRef(out, p + 3, m.topic);
    return out;
  },
};

/** §5.4.16: Flags(1: granted QoS) TopicId(2) MsgId(2) ReturnCode(1). */
export const SUBACK: MessageCodec<SubackMessage> = {
  code: MsgType.SUBACK,
  decode(buf, p, end) {
    expectBodyLength('SUBACK', end - p, 6);
    return {
      type: 'SUBACK',
      qos: qosOf(buf[p]),
      topicId: readUint16(buf, p + 1),
      msgId: readUint16(buf, p + 3),
      returnCode: buf[p + 5],
    };
  },
  encode(m) {
    const flags = qosFlags('SUBACK', m.qos);
    const topicId = checkUint16('SUBACK', 'topicId', m.topicId);
    const msgId = checkUint16('SUBACK', 'msgId', m.msgId);
    const returnCode = checkUint8('SUBACK', 'returnCode', m.returnCode);
    const out = allocFrame('SUBACK', MsgType.SUBACK, 6);
    out[2] = flags;
    writeUint16(out, 3, topicId);
    writeUint16(out, 5, msgId);
    out[7] = returnCode;
    return out;
  },
};

/** §5.4.17: Flags(1: TopicIdType) MsgId(2) TopicName(n) or TopicId(2). */
export const UNSUBSCRIBE: MessageCodec<UnsubscribeMessage> = {
  code: MsgType.UNSUBSCRIBE,
  decode(buf, p, end) {
    expectBodyAtLeast('UNSUBSCRIBE', end - p, 3);
    return {
      type: 'UNSUBSCRIBE',
      msgId: readUint16(buf, p + 1),
      topic: decodeTopicRef('UNSUBSCRIBE', buf[p], buf, p + 3, end),
    };
  },
  encode(m) {
    const msgId = checkUint16('UNSUBSCRIBE', 'msgId', m.msgId);
    const bodyLength = 3 + topicRefLength('UNSUBSCRIBE', m.topic);
    const out = allocFrame('UNSUBSCRIBE', MsgType.UNSUBSCRIBE, bodyLength);
    const p = out.length - bodyLength;
    out[p] = topicIdTypeFlags('UNSUBSCRIBE', m.topic.topicIdType);
    writeUint16(out, p + 1, msgId);
    writeTopicRef(out, p + 3, m.topic);
    return out;
  },
};

/** §5.4.18: MsgId(2). */
export const UNSUBACK = msgIdCodec('UNSUBACK');
