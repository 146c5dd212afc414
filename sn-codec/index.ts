/** MQTT-SN 1.2 codec: decode(frame) → message, encode(message) → frame. Pure, no I/O. */
export * from './types.js';
export { SnCodecError as SnDecodeError } from './types.js';
export { decode, decoderFor, peekFrameLength } from './decode.js';
export { encode } from './encode.js';
export { shortTopicId, shortTopicName } from './short-topic.js';
export {
  MsgType,
  Flags,
  TopicIdTypeBits,
  QosBits,
  ENCAPSULATION_RADIUS_MASK,
  PROTOCOL_ID,
  LONG_LENGTH_MARKER,
  MAX_SHORT_FRAME_LENGTH,
  MAX_FRAME_LENGTH,
  MIN_SHORT_FRAME_LENGTH,
  MIN_LONG_FRAME_LENGTH,
  DEFAULT_MAX_CLIENT_ID_LENGTH,
  messageTypeName,
} from './constants.js';
