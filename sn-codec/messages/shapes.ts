/**
 * Codecs for the message shapes several types share: no variable part, a lone ReturnCode,
 * a lone MsgId, TopicId + MsgId + ReturnCode, and WillTopic / WillMsg bodies.
 */
import type { MessageCodec } from '../codec.js';
import { Flags, MsgType } from '../constants.js';
import { expectBodyLength, qosOf, readUint16, readUtf8 } from '../read.js';
import type { QoS, SnMessageOf } from '../types.js';
import { allocFrame, checkBytes, checkUint16, checkUint8, qosFlags, utf8Length, writeUint16 } from '../write.js';

type EmptyType = 'WILLTOPICREQ' | 'WILLMSGREQ' | 'PINGRESP';
type ReturnCodeType = 'CONNACK' | 'WILLTOPICRESP' | 'WILLMSGRESP';
type MsgIdType = 'PUBCOMP' | 'PUBREC' | 'PUBREL' | 'UNSUBACK';
type TopicAckType = 'REGACK' | 'PUBACK';
type WillTopicType = 'WILLTOPIC' | 'WILLTOPICUPD';
type WillMsgType = 'WILLMSG' | 'WILLMSGUPD';

/** Header only, no variable part. */
export function emptyCodec<T extends EmptyType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(_buf, p, end) {
      expectBodyLength(type, end - p, 0);
      return { type } as SnMessageOf<T>;
    },
    encode() {
      return allocFrame(type, code, 0);
    },
  };
}

/** ReturnCode(1). */
export function returnCodeCodec<T extends ReturnCodeType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(buf, p, end) {
      expectBodyLength(type, end - p, 1);
      return { type, returnCode: buf[p] } as SnMessageOf<T>;
    },
    encode(m: { returnCode: number }) {
      const returnCode = checkUint8(type, 'returnCode', m.returnCode);
      const out = allocFrame(type, code, 1);
      out[2] = returnCode;
      return out;
    },
  };
}

/** TopicId(2) MsgId(2) ReturnCode(1): REGACK (§5.4.11) and PUBACK (§5.4.13). */
export function topicAckCodec<T extends TopicAckType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(buf, p, end) {
      expectBodyLength(type, end - p, 5);
      return { type, topicId: readUint16(buf, p), msgId: readUint16(buf, p + 2), returnCode: buf[p + 4] } as SnMessageOf<T>;
    },
    encode(m: { topicId: number; msgId: number; returnCode: number }) {
      const topicId = checkUint16(type, 'topicId', m.topicId);
      const msgId = checkUint16(type, 'msgId', m.msgId);
      const returnCode = checkUint8(type, 'returnCode', m.returnCode);
      const out = allocFrame(type, code, 5);
      writeUint16(out, 2, topicId);
      writeUint16(out, 4, msgId);
      out[6] = returnCode;
      return out;
    },
  };
}

/** MsgId(2). */
export function msgIdCodec<T extends MsgIdType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(buf, p, end) {
      expectBodyLength(type, end - p, 2);
      return { type, msgId: readUint16(buf, p) } as SnMessageOf<T>;
    },
    encode(m: { msgId: number }) {
      const msgId = checkUint16(type, 'msgId', m.msgId);
      const out = allocFrame(type, code, 2);
      writeUint16(out, 2, msgId);
      return out;
    },
  };
}

/**
 * [Flags(1: QoS, Retain) WillTopic(n)] (§5.4.7, §5.4.22). The bare two-byte frame means
 * "no will topic" (delete); flags followed by an empty topic mean the same, so both decode
 * to willTopic '' with QoS 0 and no Retain, and willTopic '' encodes as the bare frame.
 */
export function willTopicCodec<T extends WillTopicType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(buf, p, end) {
      if (end - p <= 1) return { type, qos: 0, retain: false, willTopic: '' } as SnMessageOf<T>;
      const flags = buf[p];
      return {
        type,
        qos: qosOf(flags),
        retain: (flags & Flags.RETAIN) !== 0,
        willTopic: readUtf8(buf, p + 1, end),
      } as SnMessageOf<T>;
    },
    encode(m: { qos: QoS; retain: boolean; willTopic: string }) {
      const topicLength = utf8Length(type, 'willTopic', m.willTopic);
      const flags = qosFlags(type, m.qos) | (m.retain ? Flags.RETAIN : 0);
      if (topicLength === 0) return allocFrame(type, code, 0);
      const bodyLength = 1 + topicLength;
      const out = allocFrame(type, code, bodyLength);
      const p = out.length - bodyLength;
      out[p] = flags;
      out.write(m.willTopic, p + 1, 'utf8');
      return out;
    },
  };
}

/** WillMsg(n), possibly empty (§5.4.9, §5.4.23). Decoded as a view on the input. */
export function willMsgCodec<T extends WillMsgType>(type: T): MessageCodec<SnMessageOf<T>> {
  const code = MsgType[type];
  return {
    code,
    decode(buf, p, end) {
      return { type, willMsg: buf.subarray(p, end) } as SnMessageOf<T>;
    },
    encode(m: { willMsg: Buffer }) {
      const willMsg = checkBytes(type, 'willMsg', m.willMsg);
      const out = allocFrame(type, code, willMsg.length);
      out.set(willMsg, out.length - willMsg.length);
      return out;
    },
  };
}
