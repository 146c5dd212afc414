/** Publishing (§5.4.12 PUBLISH, §5.4.13 PUBACK, §5.4.14 PUBREC, PUBREL, PUBCOMP). */
import type { MessageCodec } from '../codec.js';
import { Flags, MsgType } from '../constants.js';
import { expectBodyAtLeast, qosOf, topicIdTypeOf } from '../read.js';
import type { PubackMessage, PublishMessage } from '../types.js';
import {
  allocFrame,
  checkBytes,
  checkUint16,
  qosFlags,
  topicIdTypeFlags,
  writeUint16,
} from '../write.js';
import { msgIdCodec, topicAckCodec } from './shapes.js';

/** §5.4.12: Flags(1: DUP, QoS, Retain, TopicIdType) TopicId(2) MsgId(2) Data(n). The hot path: keep it lean. */
export const PUBLISH: MessageCodec<PublishMessage> = {
  code: MsgType.PUBLISH,
  decode(buf, p, end) {
    expectBodyAtLeast('PUBLISH', end - p, 5);
    const flags = buf[p];
    return {
      type: 'PUBLISH',
      dup: (flags & Flags.DUP) !== 0,
      qos: qosOf(flags),
      retain: (flags & Flags.RETAIN) !== 0,
      topicIdType: topicIdTypeOf('PUBLISH', flags),
      topicId: (buf[p + 1] << 8) | buf[p + 2],
      msgId: (buf[p + 3] << 8) | buf[p + 4],
      payload: buf.subarray(p + 5, end),
    };
  },
  encode(m) {
    const flags =
      (m.dup ? Flags.DUP : 0) |
      qosFlags('PUBLISH', m.qos) |
      (m.retain ? Flags.RETAIN : 0) |
      topicIdTypeFlags('PUBLISH', m.topicIdType);
    const topicId = checkUint16('PUBLISH', 'topicId', m.topicId);
    const msgId = checkUint16('PUBLISH', 'msgId', m.msgId);
    const payload = checkBytes('PUBLISH', 'payload', m.payload);
    const bodyLength = 5 + payload.length;
    const out = allocFrame('PUBLISH', MsgType.PUBLISH, bodyLength);
    const p = out.length - bodyLength;
    out[p] = flags;
    writeUint16(out, p + 1, topicId);
    writeUint16(out, p + 3, msgId);
    out.set(payload, p + 5);
    return out;
  },
};

/** §5.4.13: TopicId(2) MsgId(2) ReturnCode(1). */
export const PUBACK: MessageCodec<PubackMessage> = topicAckCodec('PUBACK');

/** §5.4.14: MsgId(2) each. */
export const PUBCOMP = msgIdCodec('PUBCOMP');
export const PUBREC = msgIdCodec('PUBREC');
export const PUBREL = msgIdCodec('PUBREL');
