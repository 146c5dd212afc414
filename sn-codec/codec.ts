/**
 * The shape of one row of the message table: a MsgType code with its decoder and encoder.
 */
import type { SnMessage } from './types.js';

/** Per-call decode settings, resolved once so decoders read plain fields. */
export interface DecodeContext {
  readonly maxClientIdLength: number;
  /** See DecodeOptions.checkClientIdentity. */
  readonly checkClientIdentity: boolean;
  /** True while decoding the frame carried by a Forwarder Encapsulation (§5.5). */
  readonly insideEncapsulation: boolean;
  /** The frame decoder, handed down so ENCAPSULATED can decode its inner frame without an import cycle. */
  readonly decodeFrame: FrameDecoder;
}

/** Decodes the frame occupying buf[start, end). */
export type FrameDecoder = (buf: Buffer, start: number, end: number, ctx: DecodeContext) => SnMessage;

/** Encodes a whole frame; handed to ENCAPSULATED to encode its inner message. */
export type FrameEncoder = (message: SnMessage) => Buffer;

export interface MessageCodec<M extends SnMessage> {
  readonly code: number;
  /**
   * Decodes the variable part buf[p, frameEnd) (after Length and MsgType).
   * datagramEnd is where the datagram ends; it differs from frameEnd only for ENCAPSULATED,
   * whose Length stops before the inner frame.
   */
  decode(buf: Buffer, p: number, frameEnd: number, ctx: DecodeContext, datagramEnd: number): M;
  /** Builds the whole frame, Length and MsgType included. */
  encode(message: M, encodeFrame: FrameEncoder): Buffer;
}
