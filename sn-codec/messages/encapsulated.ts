/**
 * Forwarder Encapsulation (§5.5): Length MsgType(0xFE) Ctrl(1) WirelessNodeId(n), then a whole
 * MQTT-SN frame. The Length counts only up to the end of the WirelessNodeId; the inner frame
 * is the rest of the datagram and carries its own Length.
 */
import type { DecodeContext, MessageCodec } from '../codec.js';
import { ENCAPSULATION_RADIUS_MASK, MAX_FRAME_LENGTH, MsgType } from '../constants.js';
import { expectBodyAtLeast, fail } from '../read.js';
import { SnCodecError, type EncapsulatedMessage, type SnMessage } from '../types.js';
import { checkBytes, frameLengthFor, writeHeader } from '../write.js';

export const ENCAPSULATED: MessageCodec<EncapsulatedMessage> = {
  code: MsgType.ENCAPSULATED,
  decode(buf, p, frameEnd, ctx, datagramEnd) {
    // A forwarder relays client frames, never another encapsulation; refusing nesting also
    // bounds the recursion for hostile input.
    if (ctx.insideEncapsulation) fail('reserved-type', 'ENCAPSULATED inside ENCAPSULATED is not allowed (§5.5)');
    expectBodyAtLeast('ENCAPSULATED', frameEnd - p, 1);
    const innerContext: DecodeContext = {
      ...ctx,
      insideEncapsulation: true,
      decodeFrame: ctx.decodeFrame,
    };
    let message: SnMessage;
    try {
      message = ctx.decodeFrame(buf, frameEnd, datagramEnd, innerContext);
    } catch (error) {
      if (error instanceof SnCodecError) {
        throw new SnCodecError(error.reason, `in the frame inside ENCAPSULATED (§5.5): ${error.message}`);
      }
      throw error;
    }
    return {
      type: 'ENCAPSULATED',
      radius: buf[p] & ENCAPSULATION_RADIUS_MASK,
      wirelessNodeId: buf.subarray(p + 1, frameEnd),
      message,
    };
  },
  encode(m, encodeFrame) {
    const radius = m.radius;
    if (!Number.isInteger(radius) || radius < 0 || radius > ENCAPSULATION_RADIUS_MASK) {
      fail('out-of-range', `ENCAPSULATED: radius ${String(radius)} is not an integer in 0..3`);
    }
    const wirelessNodeId = checkBytes('ENCAPSULATED', 'wirelessNodeId', m.wirelessNodeId);
    if (m.message !== null && typeof m.message === 'object' && m.message.type === 'ENCAPSULATED') {
      fail('reserved-type', 'ENCAPSULATED inside ENCAPSULATED is not allowed (§5.5)');
    }
    const inner = encodeFrame(m.message);
    const outerLength = frameLengthFor('ENCAPSULATED', 1 + wirelessNodeId.length);
    const total = outerLength + inner.length;
    if (total > MAX_FRAME_LENGTH) {
      fail('frame-too-large', `ENCAPSULATED: datagram of ${total} bytes exceeds ${MAX_FRAME_LENGTH}`);
    }
    const out = Buffer.allocUnsafe(total);
    const p = writeHeader(out, outerLength, MsgType.ENCAPSULATED);
    out[p] = radius;
    out.set(wirelessNodeId, p + 1);
    out.set(inner, outerLength);
    return out;
  },
};
