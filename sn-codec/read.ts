/**
 * Field readers for decoders. Every reader trusts that the caller has checked the bounds,
 * so the checks live in one place per message and the hot path stays branch-light.
 */
import { Flags, TopicIdTypeBits } from './constants.js';
import { SnCodecError, type QoS, type SnCodecErrorReason, type TopicIdType } from './types.js';

export function fail(reason: SnCodecErrorReason, message: string): never {
  throw new SnCodecError(reason, message);
}

/** A fixed-size variable part: too short is 'truncated', too long is 'length-mismatch'. */
export function expectBodyLength(type: string, actual: number, expected: number): void {
  if (actual !== expected) {
    fail(
      actual < expected ? 'truncated' : 'length-mismatch',
      `${type}: variable part is ${actual} bytes, expected ${expected}`,
    );
  }
}

/** A variable part with a fixed head followed by optional or variable-length data. */
export function expectBodyAtLeast(type: string, actual: number, minimum: number): void {
  if (actual < minimum) fail('truncated', `${type}: variable part is ${actual} bytes, needs at least ${minimum}`);
}

export function readUint16(buf: Buffer, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}

/**
 * UTF-8 text of buf[start, end). Buffer#toString measured as fast as any hand-rolled ASCII
 * loop for the 1..30-byte ids and topic names MQTT-SN carries, and it is always correct.
 */
export function readUtf8(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

const QOS_BY_BITS: readonly QoS[] = [0, 1, 2, -1];

/** QoS from the Flags byte (§5.3.4 bits 6-5; 0b11 is QoS -1). */
export function qosOf(flags: number): QoS {
  return QOS_BY_BITS[(flags & Flags.QOS_MASK) >> Flags.QOS_SHIFT];
}

const TOPIC_ID_TYPE_BY_BITS: readonly TopicIdType[] = ['normal', 'predefined', 'short'];

/** TopicIdType from the Flags byte (§5.3.4 bits 1-0); 0b11 is reserved. */
export function topicIdTypeOf(type: string, flags: number): TopicIdType {
  const bits = flags & Flags.TOPIC_ID_TYPE_MASK;
  if (bits === TopicIdTypeBits.RESERVED) fail('reserved-topic-id-type', `${type}: TopicIdType 0b11 is reserved`);
  return TOPIC_ID_TYPE_BY_BITS[bits];
}
