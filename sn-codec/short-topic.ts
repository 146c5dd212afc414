/**
 * Short topic names (§3 / §6.7): two characters carried in the two-byte TopicId field.
 * The id is the name's two UTF-8 bytes read as a big-endian uint16.
 */
import { fail } from './read.js';

/** The TopicId for a short topic name; the name must be exactly two bytes in UTF-8. */
export function shortTopicId(name: string): number {
  if (typeof name !== 'string') fail('out-of-range', 'short topic name is not a string');
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length !== 2) fail('out-of-range', `short topic name "${name}" is ${bytes.length} bytes in UTF-8, must be exactly 2`);
  return (bytes[0] << 8) | bytes[1];
}

/**
 * The short topic name a TopicId carries. Bytes that are not valid UTF-8 come out as U+FFFD;
 * senders use two printable characters in practice.
 */
export function shortTopicName(id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) fail('out-of-range', `short topic id ${String(id)} is not an integer in 0..65535`);
  return Buffer.from([id >>> 8, id & 0xff]).toString('utf8');
}
