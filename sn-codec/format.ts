/** One-line, human-readable renderings of MQTT-SN messages: test failures, the CLI's -d, the daemon's -v. */
import type { SnMessage } from './types.js';

/** `PUBLISH {"dup":false,"qos":1,...,"payload":"0x3231"}`: buffers as hex, every other field as JSON. */
export function formatMessage(message: SnMessage): string {
  const { type, ...fields } = message;
  const body = JSON.stringify(fields, (_key, value: unknown) => {
    if (isBufferJson(value)) return hex(Buffer.from(value.data));
    if (value && typeof value === 'object' && 'type' in value && typeof (value as SnMessage).type === 'string' && value !== message) {
      return formatMessage(value as SnMessage); // the frame inside ENCAPSULATED
    }
    return value;
  });
  return body === '{}' ? type : `${type} ${body}`;
}

/** `0x021b...`; `0x` alone for an empty buffer. */
export function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Buffer.prototype.toJSON runs before a replacer sees the value, so buffers arrive in this shape. */
function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data);
}
