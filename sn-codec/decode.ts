/** Bytes → message (§5.2 frame header, then the message table). */
import type { DecodeContext } from './codec.js';
import {
  DEFAULT_MAX_CLIENT_ID_LENGTH,
  LONG_LENGTH_MARKER,
  MIN_LONG_FRAME_LENGTH,
  MIN_SHORT_FRAME_LENGTH,
  MsgType,
} from './constants.js';
import { fail } from './read.js';
import { DECODER_BY_CODE } from './table.js';
import type { DecodeOptions, SnMessage } from './types.js';

/**
 * Decodes the frame in buf[start, end). A frame is one datagram, so its Length must cover
 * exactly that range; only ENCAPSULATED stops short, the rest being its inner frame (§5.5).
 */
function decodeFrame(buf: Buffer, start: number, end: number, ctx: DecodeContext): SnMessage {
  const available = end - start;
  if (available < MIN_SHORT_FRAME_LENGTH) fail('truncated', `frame of ${available} bytes has no room for Length and MsgType`);
  let length = buf[start];
  let p = start + 1;
  if (length === LONG_LENGTH_MARKER) {
    if (available < MIN_LONG_FRAME_LENGTH) fail('truncated', `frame of ${available} bytes has no room for a three-byte Length and MsgType`);
    length = (buf[start + 1] << 8) | buf[start + 2];
    p = start + 3;
    if (length < MIN_LONG_FRAME_LENGTH) fail('length-mismatch', `three-byte Length ${length} is less than its own header (§5.2.1)`);
  } else if (length < MIN_SHORT_FRAME_LENGTH) {
    fail('length-mismatch', `Length ${length} is less than its own header (§5.2.1)`);
  }
  const code = buf[p++];
  const codec = DECODER_BY_CODE[code];
  if (codec === undefined) fail('reserved-type', `MsgType 0x${code.toString(16).padStart(2, '0')} is reserved`);
  if (code === MsgType.ENCAPSULATED) {
    if (length >= available) fail('truncated', `ENCAPSULATED: Length ${length} leaves no room for the inner frame in ${available} bytes`);
  } else if (length !== available) {
    fail('length-mismatch', `Length ${length} disagrees with the ${available}-byte datagram`);
  }
  return codec.decode(buf, p, start + length, ctx, end);
}

const DEFAULT_CONTEXT: DecodeContext = {
  maxClientIdLength: DEFAULT_MAX_CLIENT_ID_LENGTH,
  checkClientIdentity: true,
  insideEncapsulation: false,
  decodeFrame,
};

function contextFor(options: DecodeOptions | undefined): DecodeContext {
  if (options === undefined || (options.maxClientIdLength === undefined && options.checkClientIdentity === undefined)) return DEFAULT_CONTEXT;
  return {
    maxClientIdLength: options.maxClientIdLength ?? DEFAULT_MAX_CLIENT_ID_LENGTH,
    checkClientIdentity: options.checkClientIdentity ?? true,
    insideEncapsulation: false,
    decodeFrame,
  };
}

/**
 * Decodes one MQTT-SN frame (one datagram). Buffer fields of the result (PUBLISH payload,
 * WillMsg, GwAdd, WirelessNodeId) are views on `frame`, not copies.
 * Throws SnCodecError, and nothing else, for any malformed input.
 */
export function decode(frame: Buffer, options?: DecodeOptions): SnMessage {
  return decodeIn(frame, contextFor(options));
}

/**
 * decode() with `options` resolved once, for a caller that decodes every frame with the same options
 * (the gateway core): no settings object per frame (issue 13).
 */
export function decoderFor(options: DecodeOptions): (frame: Buffer) => SnMessage {
  const context = contextFor(options);
  return (frame) => decodeIn(frame, context);
}

function decodeIn(frame: Buffer, context: DecodeContext): SnMessage {
  if (!Buffer.isBuffer(frame)) {
    // A plain Uint8Array is wrapped (no copy) so views and string reads behave as on a Buffer.
    const bytes: unknown = frame;
    if (!(bytes instanceof Uint8Array)) fail('truncated', 'decode: input is not a Buffer');
    frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return decodeFrame(frame, 0, frame.length, context);
}

/**
 * Total length of the frame whose Length field starts at `offset` (§5.2.1), read from the
 * one-byte form or the 0x01 + uint16 form; undefined while too few bytes have arrived to know.
 * Useful to cut frames out of a byte stream (raw serial). Throws SnCodecError('length-mismatch')
 * when the Length field cannot be valid (0, or a three-byte value under 4): the stream has lost
 * sync and the caller should resynchronise rather than wait for more bytes.
 */
export function peekFrameLength(buf: Buffer, offset = 0): number | undefined {
  if (offset >= buf.length) return undefined;
  const first = buf[offset];
  if (first !== LONG_LENGTH_MARKER) {
    if (first < MIN_SHORT_FRAME_LENGTH) fail('length-mismatch', `Length ${first} is less than its own header (§5.2.1)`);
    return first;
  }
  if (offset + 3 > buf.length) return undefined;
  const length = (buf[offset + 1] << 8) | buf[offset + 2];
  if (length < MIN_LONG_FRAME_LENGTH) fail('length-mismatch', `three-byte Length ${length} is less than its own header (§5.2.1)`);
  return length;
}
