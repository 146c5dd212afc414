/**
 * Field writers and value checks for encoders. A value that does not fit its field raises
 * SnCodecError('out-of-range') instead of being silently truncated by the byte writes.
 */
import {
  Flags,
  LONG_LENGTH_MARKER,
  MAX_FRAME_LENGTH,
  MAX_SHORT_FRAME_LENGTH,
  QosBits,
  TopicIdTypeBits,
} from './constants.js';
import { fail } from './read.js';
import type { TopicIdType } from './types.js';

export function checkUint8(type: string, field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    fail('out-of-range', `${type}: ${field} ${String(value)} is not an integer in 0..255`);
  }
  return value;
}

export function checkUint16(type: string, field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    fail('out-of-range', `${type}: ${field} ${String(value)} is not an integer in 0..65535`);
  }
  return value;
}

/** UTF-8 byte length of a string field. */
export function utf8Length(type: string, field: string, value: string): number {
  if (typeof value !== 'string') fail('out-of-range', `${type}: ${field} is not a string`);
  return Buffer.byteLength(value, 'utf8');
}

/** A field that must not be empty: REGISTER TopicName, SUBSCRIBE TopicName, ... */
export function nonEmptyUtf8Length(type: string, field: string, value: string): number {
  const length = utf8Length(type, field, value);
  if (length === 0) fail('missing-field', `${type}: ${field} is empty`);
  return length;
}

export function checkBytes(type: string, field: string, value: Uint8Array): Uint8Array {
  if (!(value instanceof Uint8Array)) fail('out-of-range', `${type}: ${field} is not a Buffer`);
  return value;
}

/** QoS as Flags bits 6-5 (§5.3.4). */
export function qosFlags(type: string, qos: number): number {
  switch (qos) {
    case 0: return QosBits.QOS0 << Flags.QOS_SHIFT;
    case 1: return QosBits.QOS1 << Flags.QOS_SHIFT;
    case 2: return QosBits.QOS2 << Flags.QOS_SHIFT;
    case -1: return QosBits.QOS_MINUS_1 << Flags.QOS_SHIFT;
    default: return fail('out-of-range', `${type}: QoS ${String(qos)} is not one of -1, 0, 1, 2`);
  }
}

/** TopicIdType as Flags bits 1-0 (§5.3.4). */
export function topicIdTypeFlags(type: string, topicIdType: TopicIdType): number {
  switch (topicIdType) {
    case 'normal': return TopicIdTypeBits.NORMAL;
    case 'predefined': return TopicIdTypeBits.PREDEFINED;
    case 'short': return TopicIdTypeBits.SHORT;
    default: return fail('reserved-topic-id-type', `${type}: TopicIdType ${String(topicIdType)} is not normal, predefined or short`);
  }
}

/** Whole frame length for a variable part of bodyLength bytes: the one-byte Length form whenever it fits (§5.2.1). */
export function frameLengthFor(type: string, bodyLength: number): number {
  const shortForm = bodyLength + 2;
  if (shortForm <= MAX_SHORT_FRAME_LENGTH) return shortForm;
  const longForm = bodyLength + 4;
  if (longForm > MAX_FRAME_LENGTH) fail('frame-too-large', `${type}: frame of ${longForm} bytes exceeds ${MAX_FRAME_LENGTH}`);
  return longForm;
}

/** Writes Length and MsgType at the start of out; returns where the variable part begins. */
export function writeHeader(out: Buffer, frameLength: number, code: number): number {
  if (frameLength <= MAX_SHORT_FRAME_LENGTH) {
    out[0] = frameLength;
    out[1] = code;
    return 2;
  }
  out[0] = LONG_LENGTH_MARKER;
  out[1] = frameLength >>> 8;
  out[2] = frameLength & 0xff;
  out[3] = code;
  return 4;
}

/** A frame with its header written; the variable part is its last bodyLength bytes, to be filled by the caller. */
export function allocFrame(type: string, code: number, bodyLength: number): Buffer {
  const frameLength = frameLengthFor(type, bodyLength);
  // Every byte is written by the header and the caller, so the pooled unsafe allocation is safe.
  const out = Buffer.allocUnsafe(frameLength);
  writeHeader(out, frameLength, code);
  return out;
}

export function writeUint16(out: Buffer, p: number, value: number): void {
  out[p] = value >>> 8;
  out[p + 1] = value & 0xff;
}
