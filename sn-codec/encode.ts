/** Message → bytes, through the message table. */
import { fail } from './read.js';
import { MESSAGE_CODECS } from './table.js';
import type { MessageCodec } from './codec.js';
import type { SnMessage } from './types.js';

/**
 * Encodes one message as a frame, using the one-byte Length form whenever the frame fits in 255 bytes.
 * Throws SnCodecError ('out-of-range', 'frame-too-large', ...) for values that do not fit the wire format.
 */
export function encode(message: SnMessage): Buffer {
  if (message === null || typeof message !== 'object') fail('missing-field', 'encode: message is not an object');
  const codec = Object.hasOwn(MESSAGE_CODECS, message.type)
    ? (MESSAGE_CODECS[message.type] as MessageCodec<SnMessage>)
    : undefined;
  if (codec === undefined) fail('reserved-type', `encode: unknown message type ${String(message.type)}`);
  return codec.encode(message, encode);
}
