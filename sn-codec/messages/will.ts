/**
 * Will handshake and updates (§5.4.6 WILLTOPICREQ, §5.4.7 WILLTOPIC, §5.4.8 WILLMSGREQ, §5.4.9 WILLMSG,
 * §5.4.22 WILLTOPICUPD, §5.4.23 WILLMSGUPD, §5.4.24 WILLTOPICRESP, §5.4.25 WILLMSGRESP).
 */
import { emptyCodec, returnCodeCodec, willMsgCodec, willTopicCodec } from './shapes.js';

export const WILLTOPICREQ = emptyCodec('WILLTOPICREQ');
export const WILLTOPIC = willTopicCodec('WILLTOPIC');
export const WILLMSGREQ = emptyCodec('WILLMSGREQ');
export const WILLMSG = willMsgCodec('WILLMSG');
export const WILLTOPICUPD = willTopicCodec('WILLTOPICUPD');
export const WILLMSGUPD = willMsgCodec('WILLMSGUPD');
export const WILLTOPICRESP = returnCodeCodec('WILLTOPICRESP');
export const WILLMSGRESP = returnCodeCodec('WILLMSGRESP');
