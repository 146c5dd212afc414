/** Topic registration (§5.4.10 REGISTER, §5.4.11 REGACK). */
import type { MessageCodec } from '../codec.js';
import { MsgType } from '../constants.js';
import { expectBodyAtLeast, fail, readUint16, readUtf8 } from '../read.js';
import type { RegackMessage, RegisterMessage } from '../types.js';
import { allocFrame, checkUint16, nonEmptyUtf8Length, writeUint16 } from '../write.js';
import { topicAckCodec } from './shapes.js';

/** §5.4.10: TopicId(2) MsgId(2) TopicName(n), the name mandatory. */
export const REGISTER: MessageCodec<RegisterMessage> = {
  code: MsgType.REGISTER,
  decode(buf, p, end) {
    expectBodyAtLeast('REGISTER', end - p, 4);
    if (end - p === 4) fail('missing-field', 'REGISTER: TopicName is missing');
    return {
      type: 'REGISTER',
      topicId: readUint16(buf, p),
      msgId: readUint16(buf, p + 2),
      topicName: readUtf8(buf, p + 4, end),
    };
  },
  encode(m) {
    const topicId = checkUint16('REGISTER', 'topicId', m.topicId);
    const msgId = checkUint16('REGISTER', 'msgId', m.msgId);
    const bodyLength = 4 + nonEmptyUtf8Length('REGISTER', 'topicName', m.topicName);
    const out = allocFrame('REGISTER', MsgType.REGISTER, bodyLength);
    const p = out.length - bodyLength;
    writeUint16(out, p, topicId);
    writeUint16(out, p + 2, msgId);
    out.write(m.topicName, p + 4, 'utf8');
    return out;
  },
};

/** §5.4.11: TopicId(2) MsgId(2) ReturnCode(1). */
export const REGACK: MessageCodec<RegackMessage> = topicAckCodec('REGACK');
