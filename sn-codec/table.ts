/**
 * The message table: one row per MsgType (§5.4, §5.5), keyed by message type name.
 * decode dispatches on the code through DECODER_BY_CODE; encode looks up the name.
 */
import type { MessageCodec } from './codec.js';
import type { SnMessage, SnMessageOf, SnMessageType } from './types.js';
import { CONNACK, CONNECT } from './messages/connect.js';
import { ADVERTISE, GWINFO, SEARCHGW } from './messages/discovery.js';
import { ENCAPSULATED } from './messages/encapsulated.js';
import { DISCONNECT, PINGREQ, PINGRESP } from './messages/keepalive.js';
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL } from './messages/publish.js';
import { REGACK, REGISTER } from './messages/register.js';
import { SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from './messages/subscribe.js';
import {
  WILLMSG, WILLMSGREQ, WILLMSGRESP, WILLMSGUPD, WILLTOPIC, WILLTOPICREQ, WILLTOPICRESP, WILLTOPICUPD,
} from './messages/will.js';

export const MESSAGE_CODECS: { readonly [T in SnMessageType]: MessageCodec<SnMessageOf<T>> } = {
  ADVERTISE, SEARCHGW, GWINFO,
  CONNECT, CONNACK,
  WILLTOPICREQ, WILLTOPIC, WILLMSGREQ, WILLMSG,
  REGISTER, REGACK,
  PUBLISH, PUBACK, PUBCOMP, PUBREC, PUBREL,
  SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK,
  PINGREQ, PINGRESP, DISCONNECT,
  WILLTOPICUPD, WILLTOPICRESP, WILLMSGUPD, WILLMSGRESP,
  ENCAPSULATED,
};

/** Decoders indexed by MsgType code; undefined marks a reserved code. */
export const DECODER_BY_CODE: readonly (MessageCodec<SnMessage> | undefined)[] = (() => {
  const byCode: (MessageCodec<SnMessage> | undefined)[] = new Array(256).fill(undefined);
  for (const codec of Object.values(MESSAGE_CODECS)) byCode[codec.code] = codec as MessageCodec<SnMessage>;
  return byCode;
})();
