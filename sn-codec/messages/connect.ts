/** Connection set-up (§5.4.4 CONNECT, §5.4.5 CONNACK). */
import type { MessageCodec } from '../codec.js';
import { Flags, MsgType, PROTOCOL_ID } from '../constants.js';
import { expectBodyAtLeast, fail, readUint16, readUtf8 } from '../read.js';
import type { ConnectMessage } from '../types.js';
import { allocFrame, checkUint16, utf8Length, writeUint16 } from '../write.js';
import { returnCodeCodec } from './shapes.js';

/**
 * A ClientId of 1..maxLength bytes (§5.3.1). Counted in UTF-8 bytes, as MQTT does, so the
 * check needs no decoding; for the ASCII ids sensors use, bytes and characters agree.
 */
export function checkClientIdLength(type: string, byteLength: number, maxLength: number): void {
  if (byteLength === 0) fail('bad-client-id', `${type}: ClientId is empty`);
  if (byteLength > maxLength) fail('bad-client-id', `${type}: ClientId of ${byteLength} bytes is longer than ${maxLength}`);
}

/** §5.4.4: Flags(1: Will, CleanSession) ProtocolId(1) Duration(2) ClientId(n). */
export const CONNECT: MessageCodec<ConnectMessage> = {
  code: MsgType.CONNECT,
  decode(buf, p, end, ctx) {
    expectBodyAtLeast('CONNECT', end - p, 4);
    const flags = buf[p];
    if (ctx.checkClientIdentity) {
      if (buf[p + 1] !== PROTOCOL_ID) {
        fail('bad-protocol-id', `CONNECT: ProtocolId 0x${buf[p + 1].toString(16).padStart(2, '0')}, expected 0x01`);
      }
      checkClientIdLength('CONNECT', end - (p + 4), ctx.maxClientIdLength);
    }
    const message: ConnectMessage = {
      type: 'CONNECT',
      will: (flags & Flags.WILL) !== 0,
      cleanSession: (flags & Flags.CLEAN_SESSION) !== 0,
      duration: readUint16(buf, p + 2),
      clientId: readUtf8(buf, p + 4, end),
    };
    // Without the identity checks the caller answers a bad ProtocolId or ClientId itself (CONNACK 0x03),
    // so it gets them as sent.
    return ctx.checkClientIdentity ? message : { ...message, protocolId: buf[p + 1] };
  },
  encode(m) {
    const duration = checkUint16('CONNECT', 'duration', m.duration);
    const clientIdLength = utf8Length('CONNECT', 'clientId', m.clientId);
    // No upper limit here: the 23-byte limit is the receiver's to apply (DecodeOptions.maxClientIdLength).
    if (clientIdLength === 0) fail('bad-client-id', 'CONNECT: ClientId is empty');
    const bodyLength = 4 + clientIdLength;
    const out = allocFrame('CONNECT', MsgType.CONNECT, bodyLength);
    const p = out.length - bodyLength;
    out[p] = (m.will ? Flags.WILL : 0) | (m.cleanSession ? Flags.CLEAN_SESSION : 0);
    out[p + 1] = PROTOCOL_ID;
    writeUint16(out, p + 2, duration);
    out.write(m.clientId, p + 4, 'utf8');
    return out;
  },
};

/** §5.4.5: ReturnCode(1). */
export const CONNACK = returnCodeCodec('CONNACK');
