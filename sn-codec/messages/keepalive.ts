/** Keep-alive and sleep (§5.4.19 PINGREQ, §5.4.20 PINGRESP, §5.4.21 DISCONNECT). */
import type { MessageCodec } from '../codec.js';
import { MsgType } from '../constants.js';
import { expectBodyLength, fail, readUint16, readUtf8 } from '../read.js';
import type { DisconnectMessage, PingreqMessage } from '../types.js';
import { allocFrame, checkUint16, utf8Length, writeUint16 } from '../write.js';
import { checkClientIdLength } from './connect.js';
import { emptyCodec } from './shapes.js';

/** §5.4.19: [ClientId(n)], present only when a sleeping client wakes up (§6.14). */
export const PINGREQ: MessageCodec<PingreqMessage> = {
  code: MsgType.PINGREQ,
  decode(buf, p, end, ctx) {
    if (p === end) return { type: 'PINGREQ' };
    if (ctx.checkClientIdentity) checkClientIdLength('PINGREQ', end - p, ctx.maxClientIdLength);
    return { type: 'PINGREQ', clientId: readUtf8(buf, p, end) };
  },
  encode(m) {
    if (m.clientId === undefined) return allocFrame('PINGREQ', MsgType.PINGREQ, 0);
    const clientIdLength = utf8Length('PINGREQ', 'clientId', m.clientId);
    // An empty ClientId would read back as a PINGREQ without one: refuse rather than change the meaning.
    if (clientIdLength === 0) fail('bad-client-id', 'PINGREQ: ClientId is empty (omit it instead)');
    const out = allocFrame('PINGREQ', MsgType.PINGREQ, clientIdLength);
    out.write(m.clientId, out.length - clientIdLength, 'utf8');
    return out;
  },
};

/** §5.4.20: no variable part. */
export const PINGRESP = emptyCodec('PINGRESP');

/** §5.4.21: [Duration(2)], present = the client goes to sleep (§6.14). */
export const DISCONNECT: MessageCodec<DisconnectMessage> = {
  code: MsgType.DISCONNECT,
  decode(buf, p, end) {
    if (p === end) return { type: 'DISCONNECT' };
    expectBodyLength('DISCONNECT', end - p, 2);
    return { type: 'DISCONNECT', duration: readUint16(buf, p) };
  },
  encode(m) {
    if (m.duration === undefined) return allocFrame('DISCONNECT', MsgType.DISCONNECT, 0);
    const duration = checkUint16('DISCONNECT', 'duration', m.duration);
    const out = allocFrame('DISCONNECT', MsgType.DISCONNECT, 2);
    writeUint16(out, 2, duration);
    return out;
  },
};
